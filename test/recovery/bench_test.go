package recovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"pbxha/pbx/daemon"
	"pbxha/pbx/journal"
	"pbxha/pbx/recovery"
	"pbxha/pbx/sipd"
)

// bench skips t unless benchmarks were asked for (make bench-recovery).
func bench(t *testing.T) {
	t.Helper()
	if os.Getenv("PBXHA_BENCH") != "1" {
		t.Skip("benchmark: run with PBXHA_BENCH=1 (make bench-recovery)")
	}
}

func report(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Println("BENCH " + line)
	t.Log(line)
}

// sippSDP is a description as the sipp scenarios send it.
func sippSDP(port int) []byte {
	return fmt.Appendf(nil, "v=0\r\no=sipp 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n", port)
}

// journalCalls writes n confirmed calls shaped like the sipp calls of the
// tests (the same dialog fields and descriptions) into p's journal, with
// relay ports from the bottom of p's RTP range, each with a recording when
// recorded.
func journalCalls(t *testing.T, p *pbx, n int, recorded bool) {
	t.Helper()
	j, _, err := recovery.Open(filepath.Join(p.data, "journal"), journal.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("%d-bench@127.0.0.1", i)
		relayA, relayB := 61000+4*i, 61002+4*i
		rec := sipd.CallRecord{ID: id, Caller: "100", Callee: "200", State: sipd.Confirmed,
			A: sipd.Dialog{CallID: id, LocalTag: "pbxA" + id, RemoteTag: "sippA", LocalURI: "sip:200@127.0.0.1",
				RemoteURI: "sip:100@127.0.0.1", LocalCSeq: 1, RemoteCSeq: 2, RemoteTarget: "sip:100@127.0.0.1:5999",
				Transport: "UDP", Peer: "127.0.0.1:5999", LocalSDP: sippSDP(relayA), RemoteSDP: sippSDP(6000), InviteCSeq: 2},
			B: sipd.Dialog{CallID: "b" + id, LocalTag: "pbxB" + id, RemoteTag: "sippB", LocalURI: "sip:100@127.0.0.1",
				RemoteURI: "sip:200@127.0.0.1", LocalCSeq: 1, RemoteTarget: "sip:127.0.0.1:5998;transport=UDP",
				Transport: "UDP", Peer: "127.0.0.1:5998", LocalSDP: sippSDP(relayB), RemoteSDP: sippSDP(6002), InviteCSeq: 1},
			RelayA: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(relayA)),
			RelayB: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(relayB)),
			Start:  now, Answer: now,
		}
		if recorded {
			rec.Recorded = fmt.Sprintf("recordings/bench/%d.wav", i)
		}
		if err := j.Changed(rec); err != nil {
			t.Fatal(err)
		}
	}
}

var restoreTook = regexp.MustCompile(`msg="calls restored" restored=(\d+) .* took=(\S+)`)

// TestBenchRecoveryTime: a pbx process starting on a journal of 1000
// active calls, from exec to its control socket answering (which it does
// only once every call's relay ports are bound again and its recording
// reopened), over a few kill -9 and restart cycles; without recordings and
// with every call recorded.
func TestBenchRecoveryTime(t *testing.T) {
	bench(t)
	for _, recorded := range []bool{false, true} {
		t.Run(fmt.Sprintf("recorded=%v", recorded), func(t *testing.T) { recoveryTime(t, recorded) })
	}
}

func recoveryTime(t *testing.T, recorded bool) {
	const n = 1000
	p := newPBX(t, []string{"100", "200"}, "200", "127.0.0.1:5998", "--recover-rtp-timeout", "10m")
	journalCalls(t, p, n, recorded)
	for run := range 5 {
		if run > 0 {
			p.kill(t)
		}
		p.start(t)
		ready := time.Since(p.started)
		if up := len(p.waitConfirmed(t, n, time.Second)); up != n {
			t.Fatalf("%d calls restored", up)
		}
		m := restoreTook.FindAllStringSubmatch(p.logText(t), -1)
		if len(m) != run+1 || m[run][1] != fmt.Sprint(n) {
			t.Fatalf("no restore log line for %d calls: %q", n, m)
		}
		report(t, "recovery of %d calls (recorded: %v), run %d: exec to answering %v (restore itself %s)", n, recorded, run+1,
			ready.Round(time.Millisecond), m[run][2])
	}
}

// TestBenchSetupRate: call setups per second through the same pbx with the
// dialog journal on and off, in ABBA order (on, off, off, on, ...) so that
// neither mode always runs first, with the same sipp scenarios (calls with
// no hold time).
func TestBenchSetupRate(t *testing.T) {
	bench(t)
	const n = 3000
	for run := range 10 {
		noJournal := run%4 == 1 || run%4 == 2
		calleeSIP := freePort(t, 1)
		p := newPBX(t, []string{"100", "200"}, "200", "127.0.0.1:"+itoa(calleeSIP))
		stop := runInProcess(t, p, noJournal)
		start := time.Now()
		ph := calls(t, p, calleeSIP, load{caller: "caller.xml", callee: "callee.xml", n: n, rate: 2000, limit: 100})
		ok, failed, problems := ph.wait(t)
		elapsed := time.Since(start)
		stop()
		if ok != n || failed != 0 {
			t.Fatalf("%d ok, %d failed\n%s", ok, failed, problems)
		}
		report(t, "call setups, journal on=%v: %d calls in %v = %.0f/s", !noJournal, n,
			elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
}

// runInProcess runs p's daemon in this process (so the journal can be
// switched off, which `pbx run` does not offer) until the returned stop.
func runInProcess(t *testing.T, p *pbx, noJournal bool) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Data: p.data, Listen: p.addr, RTPPorts: p.rtp, Config: p.config,
			NoJournal: noJournal, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := daemon.QueryStatus(ctx, p.data); err == nil {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("pbx: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("pbx not ready within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("pbx did not stop within 20 s")
		}
	}
}
