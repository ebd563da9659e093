package drbdctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Runner runs DRBD's command-line tools. Exec runs them for real; tests
// replay recorded outputs.
type Runner interface {
	// Run runs name with args and returns its standard output. A failure
	// is a *CmdError carrying the exit code and standard error.
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
	// Stream starts name with args and returns its standard output as it
	// is written; Close stops the program.
	Stream(ctx context.Context, name string, args ...string) (io.ReadCloser, error)
}

// CmdError is a failed run of a DRBD tool.
type CmdError struct {
	Cmd    string // the command line
	Code   int    // exit code, -1 when it did not exit normally
	Stderr []byte
	Err    error
}

func (e *CmdError) Error() string {
	msg := strings.TrimSpace(string(e.Stderr))
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%s: exit %d: %s", e.Cmd, e.Code, msg)
}

func (e *CmdError) Unwrap() error { return e.Err }

// drbdLibDir holds drbdadm-84/drbdsetup-84, which drbd-utils 9 runs when
// the loaded module is 8.4.
const drbdLibDir = "/usr/lib/drbd"

// Exec runs programs with os/exec, with /usr/lib/drbd appended to PATH.
type Exec struct{}

func (Exec) command(ctx context.Context, name string, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	path := os.Getenv("PATH")
	if !strings.Contains(":"+path+":", ":"+drbdLibDir+":") {
		cmd.Env = append(os.Environ(), "PATH="+path+":"+drbdLibDir)
	}
	return cmd
}

// Run implements Runner.
func (x Exec) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := x.command(ctx, name, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return stdout.Bytes(), &CmdError{Cmd: strings.Join(cmd.Args, " "), Code: code, Stderr: stderr.Bytes(), Err: err}
	}
	return stdout.Bytes(), nil
}

// Stream implements Runner.
func (x Exec) Stream(ctx context.Context, name string, args ...string) (io.ReadCloser, error) {
	cmd := x.command(ctx, name, args)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &stream{ReadCloser: out, cmd: cmd}, nil
}

type stream struct {
	io.ReadCloser
	cmd *exec.Cmd
}

func (s *stream) Close() error {
	_ = s.cmd.Process.Kill()
	_ = s.ReadCloser.Close()
	_ = s.cmd.Wait() // killed on purpose: its exit status says nothing
	return nil
}
