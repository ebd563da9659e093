// Package drbdtest replays recorded drbdadm/drbdsetup runs for tests of code
// built on drbdctl (the actions, the OCF agent): a Script lists the command
// lines expected, in order, with the output, standard error and exit code
// each one produced.
package drbdtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"pbxha/drbdctl"
)

// Call is one expected command and its recorded result.
type Call struct {
	Cmd    string // "drbdadm primary pbx"
	Stdout string // recorded standard output (a file's content, see File)
	Stderr string
	Code   int   // exit code; non-zero makes Run return a *drbdctl.CmdError
	Err    error // the program could not run at all (exec.ErrNotFound...)
}

// Script is a Runner that checks each command against the next Call.
type Script struct {
	t     testing.TB
	mu    sync.Mutex
	calls []Call
	next  int
}

// New returns a Script expecting calls in order.
func New(t testing.TB, calls ...Call) *Script { return &Script{t: t, calls: calls} }

// File returns the content of a recorded output file (path relative to the
// test's package directory), failing the test when it cannot be read.
func File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("recorded output: %v", err)
	}
	return string(b)
}

func (s *Script) take(cmd string) (Call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= len(s.calls) {
		return Call{}, fmt.Errorf("unexpected command %q (script has %d calls)", cmd, len(s.calls))
	}
	c := s.calls[s.next]
	if c.Cmd != cmd {
		return Call{}, fmt.Errorf("call %d: got %q, want %q", s.next+1, cmd, c.Cmd)
	}
	s.next++
	return c, nil
}

// Run implements drbdctl.Runner.
func (s *Script) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	cmd := strings.Join(append([]string{name}, args...), " ")
	c, err := s.take(cmd)
	if err != nil {
		s.t.Error(err)
		return nil, err
	}
	if c.Err != nil {
		return nil, &drbdctl.CmdError{Cmd: cmd, Code: -1, Err: c.Err}
	}
	if c.Code != 0 {
		return []byte(c.Stdout), &drbdctl.CmdError{Cmd: cmd, Code: c.Code, Stderr: []byte(c.Stderr), Err: fmt.Errorf("exit status %d", c.Code)}
	}
	return []byte(c.Stdout), nil
}

// Stream implements drbdctl.Runner by returning the recorded output.
func (s *Script) Stream(ctx context.Context, name string, args ...string) (io.ReadCloser, error) {
	out, err := s.Run(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(out)), nil
}

// Done fails the test when expected calls were not made.
func (s *Script) Done() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next != len(s.calls) {
		s.t.Errorf("%d of %d expected commands not run, next: %q", len(s.calls)-s.next, len(s.calls), s.calls[s.next].Cmd)
	}
}
