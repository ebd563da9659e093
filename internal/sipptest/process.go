package sipptest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Process is one sipp run, working in a directory of its own choosing
// (scenario files, pcaps, injection files and its -trace_err logs).
type Process struct {
	cmd  *exec.Cmd
	dir  string
	out  strings.Builder
	done chan struct{}
	err  error
}

// Start runs sipp with args in dir, without a keyboard, logging its errors
// and ending itself after timeout (sipp's -timeout, so that it still prints
// its final statistics); a hung sipp is killed 10 s later, and any sipp
// still running when the test ends.
func Start(t testing.TB, dir string, timeout time.Duration, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	p := &Process{dir: dir, done: make(chan struct{})}
	args = append(args, "-nostdin", "-trace_err", "-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())))
	p.cmd = exec.CommandContext(ctx, "sipp", args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

// Wait waits for sipp to exit and returns its exit error (nil: every call
// succeeded). It may be called any number of times.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// WaitFor is Wait for at most d; running is true when sipp has not exited
// by then.
func (p *Process) WaitFor(d time.Duration) (err error, running bool) {
	select {
	case <-p.done:
		return p.err, false
	case <-time.After(d):
		return nil, true
	}
}

// Kill ends sipp if it still runs.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
	}
}

// Output is what sipp printed (its final statistics screen included); read
// it after Wait.
func (p *Process) Output() string { return p.out.String() }

// ErrorLogs returns the -trace_err logs of every sipp that worked in this
// one's directory, each behind its file name.
func (p *Process) ErrorLogs() string {
	logs, _ := filepath.Glob(filepath.Join(p.dir, "*_errors.log"))
	var b strings.Builder
	for _, l := range logs {
		e, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "%s:\n%s\n", filepath.Base(l), e)
	}
	return b.String()
}
