// Package sipp drives the PBX with real SIP clients: sipp (Debian's
// sip-tester) registering with digest auth, and calls with RTP between two
// sipp instances through the PBX's relay. The scenarios are the XML files
// next to this test; the benchmarks in docs/benchmarks/pbx.md reuse them.
package sipp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pbxha/internal/sipptest"
	"pbxha/internal/testenv"
	"pbxha/pbx/daemon"
	"pbxha/pbx/store"
)

const realm = "sipp.test"

// pbxUnderTest is a pbx daemon running in this process.
type pbxUnderTest struct {
	data string
	addr string // IP:port
	host string
	port int
}

// startPBX initialises a data directory with users exts (password pw<ext>)
// and runs the daemon on a free loopback port until the test ends.
func startPBX(t *testing.T, exts []string) *pbxUnderTest {
	t.Helper()
	data, _, cfg := sipptest.Provision(t, realm, exts...)
	port := freePorts(t, 1)
	p := &pbxUnderTest{data: data, host: "127.0.0.1", port: port, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	rtp := rtpRange(t, 8000) // 2000 calls
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Data: data, Listen: p.addr, RTPPorts: fmt.Sprintf("%d-%d", rtp, rtp+7999),
			Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pbx: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("pbx did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := daemon.QueryStatus(ctx, data); err == nil {
			return p
		}
		select {
		case err := <-done:
			t.Fatalf("pbx: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("pbx not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *pbxUnderTest) status(t *testing.T) daemon.Status {
	t.Helper()
	st, err := daemon.QueryStatus(context.Background(), p.data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// freePorts finds n consecutive loopback ports free for UDP and TCP, the
// first one even.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + 2*(os.Getpid()%5000); base < 65000-n; base += 2*n + 2 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				break
			}
			l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			u.Close()
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok && claim(t, base, n) {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// rtpRange picks n ports for the relay below the kernel's ephemeral range.
// They need not all be free: the relay's pool skips ports someone holds.
func rtpRange(t *testing.T, n int) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		base := 10000 + 2*rand.IntN(1000)
		if claim(t, base, n) {
			return base
		}
	}
	t.Fatal("no RTP range")
	return 0
}

var (
	claimsMu sync.Mutex
	claims   = map[int]int{} // base -> n
)

// claim reserves [base, base+n) for the rest of t unless it overlaps a
// range handed out earlier in this process and not yet released, so that
// two callers never get overlapping ranges before either binds.
func claim(t *testing.T, base, n int) bool {
	claimsMu.Lock()
	defer claimsMu.Unlock()
	for b, m := range claims {
		if base < b+m && b < base+n {
			return false
		}
	}
	claims[base] = n
	t.Cleanup(func() {
		claimsMu.Lock()
		delete(claims, base)
		claimsMu.Unlock()
	})
	return true
}

// injection writes a sipp injection file.
func injection(t *testing.T, dir, name string, lines []string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("SEQUENTIAL\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait returns s's exit error (nil: every call succeeded) and the errors
// logs of the sipps in its directory.
func wait(s *sipptest.Process) (error, string) {
	err := s.Wait()
	return err, s.ErrorLogs()
}

func scenario(name string) string {
	p, err := filepath.Abs(name)
	if err != nil {
		panic(err)
	}
	return p
}

// register makes each of exts register with the given contact (host:port).
func register(t *testing.T, p *pbxUnderTest, exts []string, contact string, rate int) {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, e := range exts {
		lines = append(lines, e+";"+sipptest.AuthField(e)+";"+contact)
	}
	inf := injection(t, dir, "users.csv", lines)
	s := sipptest.Start(t, dir, 60*time.Second, p.addr, "-sf", scenario("register.xml"), "-inf", inf,
		"-i", "127.0.0.1", "-p", fmt.Sprint(freePorts(t, 1)), "-m", fmt.Sprint(len(exts)), "-r", fmt.Sprint(rate))
	if err, errs := wait(s); err != nil {
		t.Fatalf("sipp register: %v\n%s\n%s", err, errs, tail(s.Output(), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func exts(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(from + i)
	}
	return out
}

// TestRegister100: 100 users register with digest auth (sipp's default
// digest uri), every binding is stored.
func TestRegister100(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	testenv.Slow(t)
	users := exts(1000, 100)
	p := startPBX(t, users)
	register(t, p, users, "127.0.0.1:5999", 200)
	if n := len(p.status(t).Registrations); n != len(users) {
		t.Fatalf("%d registrations, want %d", n, len(users))
	}
}

// callRun is the outcome of runCalls as the caller sipp saw it.
type callRun struct {
	elapsed    time.Duration
	ok, failed int
	errs       string // sipp's errors logs and the tail of its output, when it failed
}

// runCalls registers extension 200 at a callee sipp that answers and
// echoes RTP, then has a caller sipp (extension 100) place calls at rate
// per second, each lasting hold, playing G.711 audio when rtp is set.
func runCalls(t *testing.T, p *pbxUnderTest, calls, rate int, hold time.Duration, rtp bool) callRun {
	t.Helper()
	// sipp binds RTP on -mp and a few ports above it: keep them apart.
	calleeSIP, calleeRTP, callerSIP, callerRTP := freePorts(t, 1), freePorts(t, 8), freePorts(t, 1), freePorts(t, 8)
	register(t, p, []string{"200"}, fmt.Sprintf("127.0.0.1:%d", calleeSIP), 10)

	dir := t.TempDir()
	if err := os.Symlink("/usr/share/sip-tester/g711a.pcap", filepath.Join(dir, "g711a.pcap")); err != nil {
		t.Fatal(err)
	}
	limit := time.Minute + 2*time.Duration(calls/rate)*time.Second + hold
	callee := sipptest.Start(t, dir, limit, "-sf", scenario("callee.xml"), "-i", "127.0.0.1",
		"-p", fmt.Sprint(calleeSIP), "-mp", fmt.Sprint(calleeRTP), "-rtp_echo", "-m", fmt.Sprint(calls))
	media := "nortp"
	if rtp {
		media = "rtp"
	}
	inf := injection(t, dir, "calls.csv", []string{"100;200;" + sipptest.AuthField("100") + ";" + media})
	start := time.Now()
	caller := sipptest.Start(t, dir, limit, p.addr, "-sf", scenario("caller.xml"), "-inf", inf, "-i", "127.0.0.1",
		"-p", fmt.Sprint(callerSIP), "-mp", fmt.Sprint(callerRTP), "-m", fmt.Sprint(calls), "-r", fmt.Sprint(rate),
		"-d", fmt.Sprint(hold.Milliseconds()))
	err, errs := wait(caller)
	r := callRun{elapsed: time.Since(start)}
	r.ok, r.failed = sipptest.Counts(caller.Output())
	if err != nil {
		r.errs = fmt.Sprintf("caller sipp: %v\n%s\n%s", err, tail(errs, 2000), tail(caller.Output(), 2000))
		caller.Kill() // the callee may wait for calls that never come
		callee.Kill()
	}
	if err, errs := wait(callee); err != nil && r.errs == "" {
		r.errs = fmt.Sprintf("callee sipp: %v\n%s\n%s", err, tail(errs, 2000), tail(callee.Output(), 2000))
	}
	return r
}

// TestCallsWithRTP: a callee sipp answers and echoes RTP, a caller sipp
// authenticates, plays G.711 audio and hangs up; all calls succeed, RTP is
// relayed both ways and every call has an ANSWERED CDR.
func TestCallsWithRTP(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	testenv.Slow(t)
	const calls = 20
	p := startPBX(t, []string{"100", "200"})
	if r := runCalls(t, p, calls, 10, 1500*time.Millisecond, true); r.errs != "" || r.ok != calls {
		t.Fatalf("%d ok, %d failed\n%s", r.ok, r.failed, r.errs)
	}
	// The caller's BYE is answered before the call's CDR is written: wait
	// (bounded) for the last ones.
	s, err := store.Open(p.data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var cdrs []store.CDR
	var st daemon.Status
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if cdrs, err = s.CDRs(context.Background(), 1000); err != nil {
			t.Fatal(err)
		}
		st = p.status(t)
		if len(cdrs) == calls && len(st.Calls) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(cdrs) != calls || len(st.Calls) != 0 {
		t.Fatalf("%d CDRs, want %d; %d calls still active", len(cdrs), calls, len(st.Calls))
	}
	// g711a.pcap sends 33 packets/s (30 ms); each call lasts 1.5 s: ask
	// for at least 0.75 s of audio per call each way.
	if min := uint64(calls * 25); st.RTP.FromCaller < min || st.RTP.FromCallee < min {
		t.Fatalf("RTP relayed: %+v, want >= %d each way", st.RTP, min)
	}
	for _, c := range cdrs {
		if c.Disposition != store.Answered || c.HangupSide != "caller" || c.Duration() < time.Second {
			t.Fatalf("CDR %+v", c)
		}
	}
}
