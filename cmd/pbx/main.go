// Command pbx is the PBX daemon and its administration CLI.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"pbxha/pbx/admin"
	"pbxha/pbx/daemon"
)

func main() {
	if err := app().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pbx:", err)
		os.Exit(1)
	}
}

var dataFlag = &cli.StringFlag{Name: "data", Usage: "data directory (the DRBD-backed volume in production)", Value: "/srv/pbxha", EnvVars: []string{"PBX_DATA"}}

func app() *cli.App {
	return &cli.App{
		Name:  "pbx",
		Usage: "SIP PBX (registrar + B2BUA with RTP relay) keeping all state on one data volume",
		Commands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "create the data directory layout and database schema (no-op when already initialised)",
				ArgsUsage: " ",
				Flags:     []cli.Flag{dataFlag, &cli.StringFlag{Name: "realm", Value: "pbxha", Usage: "digest realm users' passwords are hashed for"}},
				Action: func(c *cli.Context) error {
					return admin.Init(c.App.Writer, c.String("data"), c.String("realm"))
				},
			},
			{
				Name:  "user",
				Usage: "manage extensions",
				Subcommands: []*cli.Command{
					{
						Name:      "add",
						Usage:     "create or update an extension",
						ArgsUsage: "EXT",
						Flags: []cli.Flag{dataFlag,
							&cli.StringFlag{Name: "password", Usage: "SIP password, required (only its digests are stored)"},
							&cli.StringFlag{Name: "name", Usage: "display name"},
							&cli.BoolFlag{Name: "record", Usage: "record every call the extension makes or takes (WAV under DATA/recordings)"}},
						Action: func(c *cli.Context) error {
							ext, err := oneArg(c, "EXT")
							if err != nil {
								return err
							}
							return admin.AddUser(c.Context, c.App.Writer, c.String("data"),
								admin.NewUser{Ext: ext, Name: c.String("name"), Password: c.String("password"), Record: c.Bool("record")})
						},
					},
					{
						Name:      "list",
						Usage:     "list extensions",
						ArgsUsage: " ",
						Flags:     []cli.Flag{dataFlag},
						Action: func(c *cli.Context) error {
							return admin.ListUsers(c.Context, c.App.Writer, c.String("data"))
						},
					},
					{
						Name:      "del",
						Usage:     "delete an extension and its registrations",
						ArgsUsage: "EXT",
						Flags:     []cli.Flag{dataFlag},
						Action: func(c *cli.Context) error {
							ext, err := oneArg(c, "EXT")
							if err != nil {
								return err
							}
							return admin.DelUser(c.Context, c.App.Writer, c.String("data"), ext)
						},
					},
				},
			},
			{
				Name:      "run",
				Usage:     "run the PBX daemon on one address (the VIP) until SIGTERM/SIGINT",
				ArgsUsage: " ",
				Flags: []cli.Flag{dataFlag,
					&cli.StringFlag{Name: "listen", Required: true, Usage: "IP:PORT for SIP over UDP and TCP; RTP binds the same IP (never a wildcard)"},
					&cli.StringFlag{Name: "realm", Usage: "digest realm (must match the one given to init; default: that one)"},
					&cli.StringFlag{Name: "rtp-ports", Value: "20000-29999", Usage: "RTP relay port range LOW-HIGH (even/odd RTP/RTCP pairs)"},
					&cli.StringFlag{Name: "config", Usage: "JSON settings file (ring_timeout, nonce_ttl, grace, min/max/default_expires)"},
					&cli.BoolFlag{Name: "recover-reinvite", Usage: "after restoring active calls, re-INVITE both legs with fresh SDP (phones behind NAT or on TCP)"},
					&cli.DurationFlag{Name: "recover-rtp-timeout", Value: 30 * time.Second, Usage: "hang up a restored call when no RTP arrives for this long (its BYE was lost while the PBX was down)"},
					&cli.BoolFlag{Name: "debug", Usage: "log at debug level"}},
				Action: func(c *cli.Context) error {
					level := slog.LevelInfo
					if c.Bool("debug") {
						level = slog.LevelDebug
					}
					ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
					defer stop()
					return daemon.Run(ctx, daemon.Options{
						Data: c.String("data"), Listen: c.String("listen"), Realm: c.String("realm"),
						RTPPorts: c.String("rtp-ports"), Config: c.String("config"),
						RecoverReinvite: c.Bool("recover-reinvite"), RecoverTimeout: c.Duration("recover-rtp-timeout"),
						Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
					})
				},
			},
			{
				Name:  "cdr",
				Usage: "call detail records",
				Subcommands: []*cli.Command{
					{
						Name:      "list",
						Usage:     "list the latest calls, newest first, with their recordings",
						ArgsUsage: " ",
						Flags:     []cli.Flag{dataFlag, &cli.IntFlag{Name: "limit", Value: 50, Usage: "how many calls to show"}},
						Action: func(c *cli.Context) error {
							return admin.ListCDRs(c.Context, c.App.Writer, c.String("data"), c.Int("limit"))
						},
					},
				},
			},
			{
				Name:      "status",
				Usage:     "show registrations and active calls",
				ArgsUsage: " ",
				Flags:     []cli.Flag{dataFlag},
				Action: func(c *cli.Context) error {
					return admin.Status(c.Context, c.App.Writer, c.String("data"))
				},
			},
		},
	}
}

// oneArg returns the single positional argument. urfave/cli v2 stops
// parsing flags at the first argument, so flags written after it (`pbx user
// add EXT --password PW`) are applied here.
func oneArg(c *cli.Context, name string) (string, error) {
	args := c.Args().Slice()
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		k, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case hasValue:
		case isBoolFlag(c, k):
			v = "true"
		default:
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s: flag %s needs a value", c.Command.FullName(), a)
			}
			i++
			v = args[i]
		}
		if err := c.Set(k, v); err != nil {
			return "", fmt.Errorf("%s: flag %s: %w", c.Command.FullName(), a, err)
		}
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%s: want exactly one %s argument", c.Command.FullName(), name)
	}
	return pos[0], nil
}

// isBoolFlag reports whether the command's flag name takes no value.
func isBoolFlag(c *cli.Context, name string) bool {
	for _, f := range c.Command.Flags {
		if bf, ok := f.(*cli.BoolFlag); ok && slices.Contains(bf.Names(), name) {
			return true
		}
	}
	return false
}
