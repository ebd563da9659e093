package recovery

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"pbxha/pbx/journal"
	"pbxha/pbx/sipd"
)

func call(id string, st sipd.State) sipd.CallRecord {
	t0 := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	return sipd.CallRecord{
		ID: id, Caller: "100", Callee: "200", State: st,
		A: sipd.Dialog{CallID: id, LocalTag: "a1", RemoteTag: "a2", LocalURI: "sip:200@10.0.0.1", RemoteURI: "sip:100@10.0.0.1",
			LocalCSeq: 1, RemoteCSeq: 2, RemoteTarget: "sip:100@10.0.0.5:5060", RouteSet: []string{"sip:p1;lr"},
			Transport: "UDP", Peer: "10.0.0.5:5060", LocalSDP: []byte("v=0\r\n"), RemoteSDP: []byte("v=0\r\n"), InviteCSeq: 2},
		B:      sipd.Dialog{CallID: "b-" + id, LocalTag: "b1", RemoteTag: "b2", LocalCSeq: 7, InviteCSeq: 1, Transport: "TCP"},
		RelayA: netip.MustParseAddrPort("10.0.0.1:20000"), RelayB: netip.MustParseAddrPort("10.0.0.1:20002"),
		Start: t0, Answer: t0.Add(3 * time.Second), Recorded: "recordings/" + id + ".wav",
	}
}

func open(t *testing.T, dir string) (*Journal, Replayed) {
	t.Helper()
	j, rep, err := Open(dir, journal.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, rep
}

// TestReplay: what a run journals is what the next run restores.
func TestReplay(t *testing.T) {
	type op struct {
		rec   sipd.CallRecord
		ended bool
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want []sipd.CallRecord
	}{
		{"answered and confirmed", []op{{rec: call("x", sipd.Answered)}, {rec: call("x", sipd.Confirmed)}},
			[]sipd.CallRecord{call("x", sipd.Confirmed)}},
		{"ended calls are not restored", []op{{rec: call("x", sipd.Confirmed)}, {rec: call("y", sipd.Confirmed)}, {rec: call("x", sipd.Confirmed), ended: true}},
			[]sipd.CallRecord{call("y", sipd.Confirmed)}},
		{"order of first appearance", []op{{rec: call("b", sipd.Answered)}, {rec: call("a", sipd.Answered)}, {rec: call("b", sipd.Confirmed)}},
			[]sipd.CallRecord{call("b", sipd.Confirmed), call("a", sipd.Answered)}},
		{"ringing calls are not journaled", []op{{rec: call("r", sipd.Trying)}, {rec: call("r", sipd.Early)}}, nil},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _ := open(t, dir)
			for _, o := range tc.ops {
				if o.ended {
					j.Ended(o.rec.ID)
					continue
				}
				if err := j.Changed(o.rec); err != nil {
					t.Fatal(err)
				}
			}
			j.Close()
			_, rep := open(t, dir)
			if len(rep.Dropped) != 0 {
				t.Fatalf("dropped %q", rep.Dropped)
			}
			if !reflect.DeepEqual(rep.Calls, tc.want) {
				t.Fatalf("restored\n%+v\nwant\n%+v", rep.Calls, tc.want)
			}
		})
	}
}

// TestEndedCompaction: ending calls empties the journal, and a call that
// was never journaled (rejected before any state change) costs no write.
func TestEndedCompaction(t *testing.T) {
	dir := t.TempDir()
	j, _, err := Open(dir, journal.Options{CompactBytes: 64 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		id := "call-" + strings.Repeat("x", i%7) + time.Duration(i).String()
		if err := j.Changed(call(id, sipd.Confirmed)); err != nil {
			t.Fatal(err)
		}
		j.Ended(id)
	}
	j.Ended("never-journaled")
	if err := j.Close(); err != nil { // writes the queued Ends
		t.Fatal(err)
	}
	st := j.Stats()
	if st.Appends != 1000 {
		t.Fatalf("%d records for 500 calls and their ends: Ended of an unknown call appended one", st.Appends)
	}
	if st.LiveCalls != 0 || st.Compactions < 2 || st.Bytes > 64<<10 {
		t.Fatalf("journal not compacted: %+v", st)
	}
}

// TestDamage: a torn tail and an undecodable record are reported and
// skipped; the other calls are restored, and the undecodable call is
// ended so the next start no longer sees it.
func TestDamage(t *testing.T) {
	dir := t.TempDir()
	jj, _, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := &Journal{j: jj, live: map[string]struct{}{}}
	for _, id := range []string{"ok1", "ok2", "torn"} {
		if err := j.Changed(call(id, sipd.Confirmed)); err != nil {
			t.Fatal(err)
		}
	}
	if err := jj.Append(journal.Record{CallID: "garbled", Kind: kindCall, Data: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	if err := j.Changed(call("torn", sipd.Confirmed)); err != nil { // the last record: torn below
		t.Fatal(err)
	}
	end := jj.Stats().Bytes
	j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jnl"))
	seg := segs[len(segs)-1]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[end-40 : end]) // the end of the last record never reached the disk
	if err := os.WriteFile(seg, b, 0o640); err != nil {
		t.Fatal(err)
	}

	j2, rep := open(t, dir)
	if len(rep.Dropped) != 2 || !strings.Contains(rep.Dropped[0], "torn") || !strings.Contains(rep.Dropped[1], "garbled") {
		t.Fatalf("dropped %q, want the torn tail and the garbled call", rep.Dropped)
	}
	want := []sipd.CallRecord{call("ok1", sipd.Confirmed), call("ok2", sipd.Confirmed), call("torn", sipd.Confirmed)}
	if !reflect.DeepEqual(rep.Calls, want) {
		t.Fatalf("restored %d calls, want ok1, ok2 and torn's previous record", len(rep.Calls))
	}
	j2.Close()
	_, rep = open(t, dir)
	if len(rep.Dropped) != 0 || len(rep.Calls) != 3 {
		t.Fatalf("second start: dropped %q, %d calls", rep.Dropped, len(rep.Calls))
	}
}
