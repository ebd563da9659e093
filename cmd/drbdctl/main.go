// Command drbdctl reads and drives DRBD 8.4 and 9 resources: status (live
// or from a captured file), watch, up/down, primary/secondary, waits with
// progress, split-brain recovery and resource-file generation. The work is
// done by package pbxha/drbdctl; this file only wires flags to it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"pbxha/drbdctl"
)

var resourceFlag = &cli.StringFlag{Name: "resource", Aliases: []string{"r"}, Usage: "DRBD resource `NAME`", Required: true}

func main() {
	app := &cli.App{
		Name:  "drbdctl",
		Usage: "read and drive DRBD 8.4 and 9 resources",
		Description: "Status, waits and actions go through drbdadm/drbdsetup (drbd-utils 9 runs the 8.4 tools itself\n" +
			"when the 8.4 module is loaded). Failures exit with a code per cause: 3 not configured, 4 a peer is Primary,\n" +
			"5 no UpToDate data, 6 device held open, 7 StandAlone/split brain, 8 timeout, 9 peer not outdated, 10 no quorum.",
		Commands: []*cli.Command{
			statusCmd(), watchCmd(),
			actionCmd("up", "attach the disk and connect (no-op when up)", (*drbdctl.Client).Up),
			actionCmd("down", "disconnect and detach; fails naming the holder when the device is in use", (*drbdctl.Client).Down),
			actionCmd("primary", "promote, never forced; retries while a peer is still Primary", (*drbdctl.Client).Primary),
			actionCmd("secondary", "demote; fails naming the holder when the device is in use", (*drbdctl.Client).Secondary),
			waitCmd("wait-connect", "wait until every peer is Connected", (*drbdctl.Client).WaitConnect),
			waitCmd("wait-sync", "wait until connected and UpToDate everywhere, showing resync progress and ETA", (*drbdctl.Client).WaitSync),
			resolveCmd(), genConfigCmd(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {
			if err == nil {
				return
			}
			fmt.Fprintf(os.Stderr, "drbdctl: %v\n", err)
			var usage usageError
			if errors.As(err, &usage) {
				os.Exit(drbdctl.ExitUsage)
			}
			os.Exit(drbdctl.ExitCode(err))
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.RunContext(ctx, os.Args); err != nil {
		// Flag errors; action errors exit in ExitErrHandler.
		fmt.Fprintf(os.Stderr, "drbdctl: %v\n", err)
		os.Exit(drbdctl.ExitUsage)
	}
}

// usageError marks bad command-line input.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func statusCmd() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show resources: live, or from a captured `drbdadm status`, `drbdsetup status --json`, `events2` or /proc/drbd",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "resource", Aliases: []string{"r"}, Usage: "only this resource"},
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read a capture from `FILE` (- for stdin) instead of asking DRBD"},
			&cli.StringFlag{Name: "format", Value: "auto", Usage: "capture format: auto, status, json, events2 or proc"},
			&cli.BoolFlag{Name: "json", Usage: "print the parsed model as JSON"},
		},
		Action: func(c *cli.Context) error {
			st, err := readStatus(c)
			if err != nil {
				return err
			}
			if name := c.String("resource"); name != "" {
				r, ok := st.Resource(name)
				if !ok {
					return fmt.Errorf("resource %s is not in the status read: %w", name, drbdctl.ErrNotConfigured)
				}
				st.Resources = []drbdctl.Resource{*r}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return drbdctl.WriteSummary(c.App.Writer, st)
		},
	}
}

func readStatus(c *cli.Context) (drbdctl.Status, error) {
	in := c.String("input")
	if in == "" {
		return (&drbdctl.Client{}).StatusAll(c.Context)
	}
	format := drbdctl.Format(c.String("format"))
	if format == "auto" {
		format = ""
	}
	var b []byte
	var err error
	if in == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(in)
	}
	if err != nil {
		return drbdctl.Status{}, usagef("read capture: %w", err)
	}
	st, err := drbdctl.Parse(b, format)
	if err != nil {
		return drbdctl.Status{}, fmt.Errorf("%s: %w", in, err)
	}
	return st, nil
}

func watchCmd() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "follow `drbdsetup events2` and print every state change and helper call (split brain included)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "resource", Aliases: []string{"r"}, Value: "all", Usage: "resource `NAME` or all"},
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "replay a captured events2 stream from `FILE` (- for stdin)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per change (time, resource, fact, old, new, note)"},
		},
		Action: func(c *cli.Context) error {
			enc := json.NewEncoder(c.App.Writer)
			emit := func(ch drbdctl.Change) { fmt.Fprintln(c.App.Writer, ch) }
			if c.Bool("json") {
				emit = func(ch drbdctl.Change) { _ = enc.Encode(ch) }
			}
			in := c.String("input")
			if in == "" {
				return (&drbdctl.Client{}).Follow(c.Context, c.String("resource"), emit)
			}
			f := os.Stdin
			if in != "-" {
				var err error
				if f, err = os.Open(in); err != nil {
					return usagef("read capture: %w", err)
				}
				defer f.Close()
			}
			_, err := drbdctl.Watch(f, emit)
			return err
		},
	}
}

func retryFlags() []cli.Flag {
	return []cli.Flag{
		resourceFlag,
		&cli.IntFlag{Name: "attempts", Value: 5, Usage: "tries of primary/secondary on transient refusals"},
		&cli.DurationFlag{Name: "retry-delay", Value: time.Second, Usage: "pause between tries"},
	}
}

// client builds the Client from the command's flags; flags a command does
// not have read as zero, which means the default.
func client(c *cli.Context) *drbdctl.Client {
	return &drbdctl.Client{Attempts: c.Int("attempts"), RetryDelay: c.Duration("retry-delay"), PollInterval: c.Duration("interval")}
}

func actionCmd(name, usage string, act func(*drbdctl.Client, context.Context, string) error) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, Flags: retryFlags(),
		Action: func(c *cli.Context) error { return act(client(c), c.Context, c.String("resource")) },
	}
}

func waitCmd(name, usage string, wait func(*drbdctl.Client, context.Context, string, func(drbdctl.Resource)) (drbdctl.Resource, error)) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage,
		Flags: []cli.Flag{
			resourceFlag,
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "give up after this long"},
			&cli.DurationFlag{Name: "interval", Value: 500 * time.Millisecond, Usage: "status poll period"},
			&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress on stderr: auto (only on a terminal), always or never"},
		},
		Action: func(c *cli.Context) error {
			var show func(drbdctl.Resource)
			pp := &drbdctl.ProgressPrinter{W: c.App.ErrWriter, Terminal: isTerminal(os.Stderr)}
			switch c.String("progress") {
			case "auto":
				if pp.Terminal {
					show = pp.Show
				}
			case "always":
				show = pp.Show
			case "never":
			default:
				return usagef("--progress %q: want auto, always or never", c.String("progress"))
			}
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()
			_, err := wait(client(c), ctx, c.String("resource"), show)
			pp.Done()
			return err
		},
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func resolveCmd() *cli.Command {
	return &cli.Command{
		Name:  "resolve-split-brain",
		Usage: "reconnect after a split brain: --discard-my-data on the node whose changes are thrown away, --keep-my-data on the other",
		Description: "Run with --discard-my-data on the victim first (it is demoted, disconnected and reconnected with\n" +
			"--discard-my-data, and becomes SyncTarget), then with --keep-my-data on the survivor if it is StandAlone.\n" +
			"Everything the victim wrote since the split is lost; stop what uses its device before.",
		Flags: append(retryFlags(),
			&cli.BoolFlag{Name: "discard-my-data", Usage: "this node's changes since the split are thrown away"},
			&cli.BoolFlag{Name: "keep-my-data", Usage: "this node's data survives and is synced to the peer"},
		),
		Action: func(c *cli.Context) error {
			if c.Bool("discard-my-data") == c.Bool("keep-my-data") {
				return usagef("say which side this node is: exactly one of --discard-my-data or --keep-my-data")
			}
			return client(c).ResolveSplitBrain(c.Context, c.String("resource"), c.Bool("discard-my-data"))
		},
	}
}

func genConfigCmd() *cli.Command {
	return &cli.Command{
		Name:  "gen-config",
		Usage: "write a DRBD resource file (8.4: 2 nodes; 9: 3+ nodes with quorum) with resource-level fencing to stdout",
		Flags: []cli.Flag{
			resourceFlag,
			&cli.StringFlag{Name: "disk", Usage: "backing device `PATH` on every node", Required: true},
			&cli.StringFlag{Name: "device", Value: "/dev/drbd0", Usage: "DRBD device `PATH` (/dev/drbdN)"},
			&cli.StringSliceFlag{Name: "node", Usage: "`NAME=ADDR:PORT` of a node, NAME as `uname -n` prints it (repeat per node)", Required: true},
			&cli.StringFlag{Name: "drbd", Usage: "`VERSION` 8.4 or 9 (default: 8.4 for 2 nodes, 9 for more)"},
		},
		Action: func(c *cli.Context) error {
			cfg := drbdctl.ResourceConfig{Resource: c.String("resource"), Device: c.String("device"), Disk: c.String("disk"), Version: c.String("drbd")}
			for _, s := range c.StringSlice("node") {
				n, err := drbdctl.ParseConfigNode(s)
				if err != nil {
					return usageError{err}
				}
				cfg.Nodes = append(cfg.Nodes, n)
			}
			if cfg.Version == "" {
				cfg.Version = "9"
				if len(cfg.Nodes) == 2 {
					cfg.Version = "8.4"
				}
			}
			b, err := drbdctl.GenerateConfig(cfg)
			if err != nil {
				return usageError{err}
			}
			_, err = c.App.Writer.Write(b)
			return err
		},
	}
}
