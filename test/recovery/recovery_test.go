package recovery

import (
	"bytes"
	"os"
	"path/filepath"
	"pbxha/internal/recordingtest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"pbxha/internal/testenv"
	"pbxha/pbx/daemon"
	"pbxha/pbx/journal"
	"pbxha/pbx/recovery"
	"pbxha/pbx/sipd"
	"pbxha/pbx/store"
)

// restart kills the running pbx with SIGKILL (or stops it with SIGTERM,
// as Pacemaker moving it does) and starts it again at once on the same
// data directory and address. It returns when the signal was sent and how
// long the new process took to answer.
func restart(t *testing.T, p *pbx, graceful bool) (killed time.Time, took time.Duration) {
	t.Helper()
	killed = time.Now()
	if graceful {
		p.stop(t)
	} else {
		p.kill(t)
	}
	p.start(t)
	return killed, time.Since(p.started)
}

// TestKillRestart: calls with RTP flowing survive a kill -9 of the PBX and
// an immediate restart (and a graceful stop and start as well): RTP is
// relayed again on every call, in-dialog
// requests after the restart (BYE from either side, a re-INVITE for hold,
// INFO and UPDATE) are answered and relayed, --recover-reinvite re-offers each leg its
// description with a new o= version, sipp counts no failed call, every CDR covers
// the whole call, every call's recording holds audio from before the kill
// and after the restart in one file, and the journal holds no call once
// they are over.
func TestKillRestart(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	testenv.Slow(t)
	const n = 50
	const hold = 8 * time.Second
	for _, tc := range []struct {
		name, caller, callee, hangup string
		args                         []string // pbx run flags
		graceful                     bool     // SIGTERM instead of SIGKILL
	}{
		{"caller hangs up", "caller.xml", "callee.xml", "caller", nil, false},
		{"callee hangs up", "caller-waits.xml", "callee-hangs-up.xml", "callee", nil, false},
		{"caller holds then hangs up", "caller-hold.xml", "callee-hold.xml", "caller", nil, false},
		{"caller sends INFO and UPDATE after the restart", "caller-info.xml", "callee-info.xml", "caller", nil, false},
		{"both legs re-INVITEd with fresh SDP", "caller-reinvited.xml", "callee-reinvited.xml", "caller", []string{"--recover-reinvite"}, false},
		{"SIGTERM instead of kill -9", "caller.xml", "callee.xml", "caller", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calleeSIP := freePort(t, 1)
			p := newPBX(t, []string{"100", "200"}, "200", "127.0.0.1:"+itoa(calleeSIP), tc.args...)
			p.record(t, "200")
			p.start(t)
			ph := calls(t, p, calleeSIP, load{caller: tc.caller, callee: tc.callee, n: n, rate: 25, hold: hold})
			p.waitConfirmed(t, n, 30*time.Second)
			time.Sleep(time.Second) // RTP flowing through every relay
			killed, took := restart(t, p, tc.graceful)
			ready := time.Now()
			if up := len(p.waitConfirmed(t, n, time.Second)); up != n {
				t.Fatalf("%d calls restored, want %d", up, n)
			}
			ok, failed, problems := ph.wait(t)
			if ok != n || failed != 0 || problems != "" {
				t.Fatalf("sipp: %d ok, %d failed, want %d ok\n%s", ok, failed, n, problems)
			}
			checkMedia(t, ph.echo, killed, n)
			t.Logf("restart: process answering %v after start", took.Round(time.Millisecond))
			checkCDRs(t, p, n, killed, tc.hangup, hold)
			checkRecordings(t, p, n, killed, ready)
			if live := liveCalls(t, p); live != 0 {
				t.Fatalf("journal holds %d calls after all ended", live)
			}
		})
	}
}

// checkMedia asserts that every call's RTP reached the called phone again
// after the kill, and reports the gaps.
func checkMedia(t *testing.T, e *echoPhone, killed time.Time, n int) {
	t.Helper()
	gs := e.gaps(killed)
	if len(gs) != n {
		t.Fatalf("RTP from %d relay ports, want %d", len(gs), n)
	}
	var gaps []time.Duration
	for _, g := range gs {
		if g.after < 10 {
			t.Fatalf("RTP from %v did not resume after the kill: %+v", g.src, g)
		}
		gaps = append(gaps, g.gap)
	}
	slices.Sort(gaps)
	t.Logf("RTP gap across the restart, %d calls: min %v, median %v, max %v", n,
		gaps[0].Round(time.Millisecond), gaps[n/2].Round(time.Millisecond), gaps[n-1].Round(time.Millisecond))
}

// checkCDRs asserts n answered CDRs hung up by hangup, each from an answer
// before the kill to an end after the call's full hold time.
func checkCDRs(t *testing.T, p *pbx, n int, killed time.Time, hangup string, hold time.Duration) {
	t.Helper()
	cs := p.cdrs(t, n)
	for _, c := range cs {
		if c.Disposition != store.Answered || c.HangupSide != hangup || !c.Answer.Before(killed) ||
			!c.End.After(killed) || c.Duration() < hold-time.Second {
			t.Fatalf("CDR %+v: want ANSWERED, hung up by %s, answered before the kill at %v, lasting ~%v",
				c, hangup, killed, hold)
		}
	}
}

// liveCalls is the number of calls the journal would restore.
func liveCalls(t *testing.T, p *pbx) int {
	t.Helper()
	res, err := journal.Replay(filepath.Join(p.data, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Live())
}

// TestTornJournal: the PBX is killed, then its journal loses the end of its
// last record (a torn write) and one byte of another call's last record
// flips. The restart reports both, never refuses to start, and every other
// call carries on; the two damaged calls fall back to their last intact
// record: confirmed ones carry on, answered ones (not yet confirmed) are
// hung up, with BYEs to both phones and FAILED CDRs; every recording is
// closed properly.
func TestTornJournal(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	testenv.Slow(t)
	const n = 10
	const hold = 6 * time.Second
	calleeSIP := freePort(t, 1)
	p := newPBX(t, []string{"100", "200"}, "200", "127.0.0.1:"+itoa(calleeSIP))
	p.record(t, "100")
	p.start(t)
	ph := calls(t, p, calleeSIP, load{caller: "caller.xml", callee: "callee.xml", n: n, rate: 20, hold: hold})
	up := p.waitConfirmed(t, n, 30*time.Second)
	p.kill(t)
	torn, flipped := damageJournal(t, p, up)
	// Each damaged call falls back to its last intact record: answered
	// (then it is hung up) or, when a later record (its media latches)
	// followed the confirmation, confirmed (then it carries on).
	rep, err := recovery.Read(filepath.Join(p.data, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	hungUp := map[string]bool{}
	for _, id := range []string{torn, flipped} {
		i := slices.IndexFunc(rep.Calls, func(r sipd.CallRecord) bool { return r.ID == id })
		if i < 0 {
			t.Fatalf("damaged call %s lost entirely: want its last intact record", id)
		}
		if rep.Calls[i].State != sipd.Confirmed {
			hungUp[id] = true
		}
	}
	t.Logf("damaged calls: %d fall back to an answered record and are hung up, %d to a confirmed one", len(hungUp), 2-len(hungUp))
	p.start(t)
	if got := len(p.waitConfirmed(t, n-len(hungUp), time.Second)); got != n-len(hungUp) {
		t.Fatalf("%d calls restored, want %d", got, n-len(hungUp))
	}
	var dropped []string
	for _, l := range strings.Split(p.logText(t), "\n") {
		if strings.Contains(l, "dialog journal: dropped") {
			dropped = append(dropped, l)
		}
	}
	if len(dropped) != 2 {
		t.Fatalf("want 2 damage reports in the log, got %q", dropped)
	}
	t.Logf("damage reported:\n%s", strings.Join(dropped, "\n"))
	ok, failed, _ := ph.wait(t)
	if ok != n-len(hungUp) || failed != len(hungUp) {
		t.Fatalf("sipp: %d ok, %d failed, want %d ok and %d failed (the damaged calls hung up)", ok, failed, n-len(hungUp), len(hungUp))
	}
	if ok, failed := ph.calleeCounts(); ok != n || failed != 0 {
		t.Fatalf("callee sipp: %d ok, %d failed, want every call ended by a BYE (the damaged ones by the PBX's)", ok, failed)
	}
	var answered []string
	for _, c := range p.cdrs(t, n) {
		switch {
		case c.Disposition == store.Answered && !hungUp[c.ACallID]:
			answered = append(answered, c.ACallID)
		case c.Disposition == store.Failed && hungUp[c.ACallID] && c.HangupSide == "pbx":
		default:
			t.Fatalf("unexpected CDR %+v", c)
		}
		// Every recording, the damaged calls' too, ends on a whole frame
		// with a header that counts its data.
		recordingtest.Read(t, filepath.Join(p.data, c.Recording))
	}
	if len(answered) != n-len(hungUp) {
		t.Fatalf("answered CDRs %v; damaged calls %s %s, hung up %v", answered, torn, flipped, hungUp)
	}
}

// damageJournal tears the last record of the newest journal segment and
// flips a byte of another call's last record. It returns the two calls'
// IDs.
func damageJournal(t *testing.T, p *pbx, up []daemon.CallStatus) (torn, flipped string) {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(p.data, "journal", "*.jnl"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("journal segments: %v %v", segs, err)
	}
	sort.Strings(segs)
	seg := segs[len(segs)-1]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	for _, c := range up {
		last[c.ID] = bytes.LastIndex(b, []byte(c.ID))
		if torn == "" || last[c.ID] > last[torn] {
			torn = c.ID
		}
	}
	for _, c := range up {
		if c.ID != torn {
			flipped = c.ID
			break
		}
	}
	b[last[flipped]] ^= 0x20
	end := len(bytes.TrimRight(b, "\x00")) // the records end where the segment's zero padding starts
	clear(b[end-100 : end])                // the last record is a whole call state: over 1 kB
	if err := os.WriteFile(seg, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return torn, flipped
}

// TestLostBye: the phones hang up while the PBX is down, so their BYEs
// never arrive; after the restart the restored calls get no RTP and are
// ended by the RTP timeout with a CDR saying so.
func TestLostBye(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	testenv.Slow(t)
	const n = 5
	calleeSIP := freePort(t, 1)
	p := newPBX(t, []string{"100", "200"}, "200", "127.0.0.1:"+itoa(calleeSIP), "--recover-rtp-timeout", "2s")
	p.start(t)
	ph := calls(t, p, calleeSIP, load{caller: "caller.xml", callee: "callee.xml", n: n, rate: 10, hold: time.Minute})
	p.waitConfirmed(t, n, 30*time.Second)
	p.kill(t)
	ph.caller.Kill()
	ph.callee.Kill()
	ph.echo.conn.Close()
	p.start(t)
	deadline := time.Now().Add(10 * time.Second)
	for len(p.status(t).Calls) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d restored calls still up 10 s after the restart (RTP timeout 2 s)", len(p.status(t).Calls))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cs := p.cdrs(t, n)
	for _, c := range cs {
		if c.Disposition != sipd.DispositionRTPTimeout || c.HangupSide != "pbx" || c.Answer.IsZero() {
			t.Fatalf("CDR %+v, want %q hung up by pbx", c, sipd.DispositionRTPTimeout)
		}
	}
}
