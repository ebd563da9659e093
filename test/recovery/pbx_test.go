// Package recovery tests active-call recovery end to end: real sipp phones
// call each other through a `pbx run` process, the process is killed with
// SIGKILL mid-call and started again on the same data directory and
// address, and the calls must carry on (RTP, in-dialog requests, CDRs).
// The scenarios are under testdata/; docs/benchmarks/recovery.md has the
// figures the benchmarks here print.
package recovery

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"pbxha/internal/sipptest"
	"pbxha/pbx/daemon"
	"pbxha/pbx/store"
)

const realm = "recovery.test"

// pbxBin is the pbx binary built for this test run (TestMain).
var pbxBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pbx-recovery-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pbxBin = filepath.Join(dir, "pbx")
	out, err := exec.Command("go", "build", "-o", pbxBin, "pbxha/cmd/pbx").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pbx: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pbx is one data directory and address that `pbx run` processes serve in
// turn, as Pacemaker restarts the daemon on the same volume and VIP.
type pbx struct {
	data, addr, rtp, config string
	args                    []string // extra `pbx run` flags
	cmd                     *exec.Cmd
	exited                  chan error // the running process's exit status
	log                     *os.File
	started                 time.Time // when the last process was started
}

// newPBX initialises a data directory with extensions exts (password
// pw<ext>) and binds callee ext to contact, as a REGISTER would.
func newPBX(t *testing.T, exts []string, callee, contact string, args ...string) *pbx {
	t.Helper()
	data, st, cfg := sipptest.Provision(t, realm, exts...)
	ctx := context.Background()
	now := time.Now()
	reg := store.Registration{Ext: callee, CallID: "recovery-test", CSeq: 1, Contacts: []store.Binding{{
		Ext: callee, Contact: "sip:" + callee + "@" + contact, Expires: now.Add(time.Hour),
		Received: contact, Transport: "UDP", UserAgent: "sipp"}}}
	if _, err := st.Register(ctx, reg, now); err != nil {
		t.Fatal(err)
	}
	p := &pbx{data: data, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t, 1)), rtp: rtpPorts, config: cfg, args: args}
	var err error
	if p.log, err = os.Create(filepath.Join(t.TempDir(), "pbx.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(t)
		p.log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log.Name())
			t.Logf("pbx log:\n%s", tail(string(b), 6000))
		}
	})
	return p
}

// rtpPorts is the relay's range: above the kernel's ephemeral ports
// (32768-60999) and apart from the ranges other packages' tests use.
const rtpPorts = "61000-64999"

// start runs `pbx run` and waits until its control socket answers.
func (p *pbx) start(t *testing.T) {
	t.Helper()
	args := append([]string{"run", "--data", p.data, "--listen", p.addr, "--rtp-ports", p.rtp, "--config", p.config}, p.args...)
	p.cmd = exec.Command(pbxBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	p.exited = exited
	go func(c *exec.Cmd) { exited <- c.Wait() }(p.cmd)
	deadline := time.After(10 * time.Second)
	for {
		if _, err := daemon.QueryStatus(context.Background(), p.data); err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("pbx exited: %v", err)
		case <-deadline:
			p.cmd.Process.Kill()
			t.Fatal("pbx not ready within 10 s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// record turns recording on for ext's calls, with the pbx CLI.
func (p *pbx) record(t *testing.T, ext string) {
	t.Helper()
	out, err := exec.Command(pbxBin, "user", "add", ext, "--data", p.data, "--password", "pw"+ext, "--record").CombinedOutput()
	if err != nil {
		t.Fatalf("pbx user add %s --record: %v\n%s", ext, err, out)
	}
}

// kill ends the process with SIGKILL, as a crash or a fenced node would.
func (p *pbx) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("pbx did not die of SIGKILL within 10 s")
	}
	p.cmd = nil
}

// stop ends the process gracefully if it runs (SIGTERM, then SIGKILL).
func (p *pbx) stop(t *testing.T) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Error("pbx did not stop within 20 s of SIGTERM")
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

func (p *pbx) status(t *testing.T) daemon.Status {
	t.Helper()
	st, err := daemon.QueryStatus(context.Background(), p.data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitConfirmed waits until n calls are up and confirmed.
func (p *pbx) waitConfirmed(t *testing.T, n int, within time.Duration) []daemon.CallStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := p.status(t)
		states := map[string]int{}
		for _, c := range st.Calls {
			states[c.State]++
		}
		if states["confirmed"] == n {
			return st.Calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls confirmed after %v (calls by state: %v)", states["confirmed"], n, within, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cdrs waits until n CDRs are written (a call's CDR follows its final
// response) and returns them.
func (p *pbx) cdrs(t *testing.T, n int) []store.CDR {
	t.Helper()
	st, err := store.Open(p.data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cs, err := st.CDRs(context.Background(), 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) >= n || time.Now().After(deadline) {
			if len(cs) != n {
				t.Fatalf("%d CDRs, want %d", len(cs), n)
			}
			return cs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logText is what the pbx processes logged so far.
func (p *pbx) logText(t *testing.T) string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freePort returns a loopback port that, with the n-1 ports after it, is
// free for UDP and TCP now (the kernel's choice, so tests running in
// parallel processes do not collide).
func freePort(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		base := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatal("no free loopback ports")
	return 0
}

func portsFree(base, n int) bool {
	for p := base; p < base+n; p++ {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			return false
		}
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		u.Close()
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
