package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// run executes the CLI with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	a := app()
	var out bytes.Buffer
	a.Writer, a.ErrWriter = &out, &out
	a.ExitErrHandler = func(*cli.Context, error) {} // return errors instead of exiting
	err := a.Run(append([]string{"pbx"}, args...))
	return out.String(), err
}

func TestCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "pbx")
	cases := []struct {
		args    []string
		outPart string
		errPart string
	}{
		{[]string{"init", "--data", data, "--realm", "lab"}, `realm "lab"`, ""},
		{[]string{"user", "add", "--data", data, "100", "--password", "pw", "--name", "Alice"}, "user 100 saved", ""},
		{[]string{"user", "add", "--data", data, "--password=pw2", "200", "--record"}, "user 200 saved", ""},
		{[]string{"user", "add", "--data", data, "300"}, "", "--password is required"},
		{[]string{"user", "add", "--data", data, "300", "400", "--password", "x"}, "", "exactly one EXT"},
		{[]string{"user", "add", "--data", data, "300", "--password"}, "", "needs a value"},
		{[]string{"user", "add", "--data", data, "300", "--colour", "red"}, "", "no such flag"},
		{[]string{"user", "list", "--data", data}, "100  Alice  no", ""},
		{[]string{"user", "list", "--data", data}, "200         yes", ""},
		{[]string{"user", "del", "--data", data, "200"}, "user 200 deleted", ""},
		{[]string{"status", "--data", data}, "not running", ""},
		{[]string{"cdr", "list", "--data", data}, "RECORDING", ""},
		{[]string{"cdr", "list", "--data", data, "--limit", "0"}, "", "want at least 1"},
		{[]string{"run", "--data", filepath.Join(t.TempDir(), "none"), "--listen", "127.0.0.1:5999"}, "", "not initialised"},
		{[]string{"run", "--data", data, "--listen", "0.0.0.0:5060"}, "", "wildcard"},
		{[]string{"run", "--data", data, "--listen", "127.0.0.1:5999", "--realm", "other"}, "", "differs"},
	}
	for _, tc := range cases {
		out, err := run(t, tc.args...)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("pbx %v: err = %v, want %q", tc.args, err, tc.errPart)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tc.outPart) {
			t.Errorf("pbx %v: err = %v, output %q lacks %q", tc.args, err, out, tc.outPart)
		}
	}
}

// TestHelp: every command and subcommand has a usage line and --help works.
func TestHelp(t *testing.T) {
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := append(append([]string{}, prefix...), c.Name)
			if c.Usage == "" {
				t.Errorf("pbx %s has no usage text", strings.Join(path, " "))
			}
			out, err := run(t, append(path, "--help")...)
			if err != nil || !strings.Contains(out, c.Usage) {
				t.Errorf("pbx %s --help: %v\n%s", strings.Join(path, " "), err, out)
			}
			walk(path, c.Subcommands)
		}
	}
	walk(nil, app().Commands)
}
