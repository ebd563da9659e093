// Command pbxha-lab runs the three-node Pacemaker lab on this machine
// (package pbxha/test/lab): up, down, status, kill and revive nodes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"pbxha/test/lab"
)

func main() {
	self, _ := os.Executable()
	defaultAgent := filepath.Join(filepath.Dir(self), "pbxha-ocf")
	defaultPBX := filepath.Join(filepath.Dir(self), "pbx")
	nodeArg := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", fmt.Errorf("give one node name (%v)", lab.Nodes)
		}
		return c.Args().First(), nil
	}
	app := &cli.App{
		Name:  "pbxha-lab",
		Usage: "a real 3-node Corosync/Pacemaker cluster in network namespaces on this machine",
		Commands: []*cli.Command{
			{
				Name:  "up",
				Usage: "build the lab (replacing any previous one) and wait for a quorate cluster",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "agent-bin", Value: defaultAgent, Usage: "the pbxha-ocf binary the nodes serve as ocf:pbxha:*"},
					&cli.StringFlag{Name: "pbx", Value: defaultPBX, Usage: "the pbx binary: the lab gets a data volume initialised for it (\"\" for none)"},
					&cli.StringFlag{Name: "config", Usage: "crm configuration file to load once the cluster is up"},
				},
				Action: func(c *cli.Context) error {
					bins := lab.Binaries{LabBin: self, AgentBin: c.String("agent-bin"), PBX: c.String("pbx")}
					ctx, cancel := context.WithTimeout(c.Context, 2*time.Second)
					unlock, err := lab.Lock(ctx)
					cancel()
					if err != nil {
						return err
					}
					defer unlock()
					if err := lab.Up(c.Context, bins, os.Stdout); err != nil {
						return err
					}
					if f := c.String("config"); f != "" {
						text, err := os.ReadFile(f)
						if err != nil {
							return err
						}
						if err := lab.Configure(c.Context, lab.Nodes[0], string(text)); err != nil {
							return err
						}
						fmt.Printf("lab: loaded %s; waiting for its resources to start\n", f)
						if _, err := lab.WaitCluster(c.Context, lab.Nodes[0], 2*time.Minute, lab.AllStarted); err != nil {
							return err
						}
					}
					return nil
				},
			},
			{
				Name: "sip-ping", Usage: "send one SIP OPTIONS from the client namespace and print the answer", ArgsUsage: "[IP:PORT]",
				Action: func(c *cli.Context) error {
					target := lab.VIP.String() + ":5060"
					if c.NArg() > 0 {
						target = c.Args().First()
					}
					line, err := lab.SIPPing(c.Context, target)
					if err != nil {
						return err
					}
					fmt.Printf("%s answers: %s\n", target, line)
					return nil
				},
			},
			{
				Name: "down", Usage: "kill all nodes and remove the lab's namespaces and state",
				Action: func(c *cli.Context) error {
					ctx, cancel := context.WithTimeout(c.Context, 2*time.Second)
					defer cancel()
					unlock, err := lab.Lock(ctx)
					if err != nil {
						return err
					}
					defer unlock()
					return lab.Down()
				},
			},
			{
				Name: "status", Usage: "show the cluster as a node sees it", ArgsUsage: "[NODE]",
				Action: func(c *cli.Context) error {
					node := lab.Nodes[0]
					if c.NArg() > 0 {
						node = c.Args().First()
					}
					out, err := lab.On(c.Context, node, "crm_mon", "--one-shot")
					fmt.Print(string(out))
					return err
				},
			},
			{
				Name: "kill", Usage: "hard-kill a node: SIGKILL its PID 1 and pull its cable", ArgsUsage: "NODE",
				Action: func(c *cli.Context) error {
					n, err := nodeArg(c)
					if err != nil {
						return err
					}
					return lab.KillNode(n)
				},
			},
			{
				Name: "revive", Usage: "boot a killed node again", ArgsUsage: "NODE",
				Action: func(c *cli.Context) error {
					n, err := nodeArg(c)
					if err != nil {
						return err
					}
					return lab.Revive(n)
				},
			},
			{
				Name: "init", Hidden: true, Usage: "PID 1 of a lab node (started by up)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "node", Required: true},
					&cli.StringFlag{Name: "dir", Required: true},
					&cli.StringFlag{Name: "agent-bin", Required: true},
				},
				Action: func(c *cli.Context) error { return lab.Init(c.String("node"), c.String("dir"), c.String("agent-bin")) },
			},
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := app.RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pbxha-lab:", err)
		os.Exit(1)
	}
}
