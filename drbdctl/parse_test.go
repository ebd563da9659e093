package drbdctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// describe renders the state facts the tests compare, one line per
// resource: role, score, volumes, then each connection with its volumes.
func describe(st Status) string {
	var b strings.Builder
	for _, r := range st.Resources {
		mp := "?"
		if r.MayPromote != nil {
			mp = fmt.Sprint(*r.MayPromote)
		}
		fmt.Fprintf(&b, "%s %s score=%d may_promote=%s susp=%v", r.Name, r.Role, r.PromotionScore, mp, r.Suspended.Any())
		for _, d := range r.Devices {
			fmt.Fprintf(&b, " | vol%d minor=%d %s quorum=%v", d.Volume, d.Minor, d.Disk, d.Quorum)
		}
		for _, c := range r.Connections {
			fmt.Fprintf(&b, " | %s %s %s", c.Name, c.State, c.PeerRole)
			for _, p := range c.PeerDevices {
				fmt.Fprintf(&b, " vol%d %s %s", p.Volume, p.Replication, p.PeerDisk)
				if p.Sync != nil {
					fmt.Fprintf(&b, " %.1f%%", p.Sync.PercentDone)
				}
			}
		}
		for _, h := range r.Helpers {
			st := "running"
			if h.Status != nil {
				st = fmt.Sprint(*h.Status)
			}
			fmt.Fprintf(&b, " | helper %s on %q vol%d: %s", h.Helper, h.Connection, h.Volume, st)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, want string
		format     Format
	}{
		{"drbd9/status-3node-primary.json",
			"pbx Primary score=0 may_promote=? susp=false | vol0 minor=0 UpToDate quorum=true | pbx-b Connected Secondary vol0 Established UpToDate | pbx-c Connected Secondary vol0 Established UpToDate\n",
			FormatJSON},
		{"drbd9/status-sync.json",
			"pbx Secondary score=0 may_promote=? susp=false | vol0 minor=0 Inconsistent quorum=true | pbx-a Connected Primary vol0 SyncTarget UpToDate 37.5% | pbx-c Connected Secondary vol0 Established UpToDate\n",
			FormatJSON},
		{"drbd9/status-noquorum.json",
			"pbx Secondary score=0 may_promote=? susp=false | vol0 minor=0 UpToDate quorum=false | pbx-a Connecting Unknown vol0 Off DUnknown | pbx-b Connecting Unknown vol0 Off DUnknown\n",
			FormatJSON},
		{"drbd9/status-standalone-suspended.json",
			"pbx Primary score=0 may_promote=? susp=true | vol0 minor=0 UpToDate quorum=true | pbx-b StandAlone Unknown vol0 Off DUnknown\n",
			FormatJSON},
		{"drbd9/events2-now-3node-sync.txt",
			"pbx Primary score=10102 may_promote=false susp=false | vol0 minor=0 UpToDate quorum=true | pbx-b Connected Secondary vol0 SyncSource Inconsistent 50.0% | pbx-c Connected Secondary vol0 Established UpToDate\n",
			FormatEvents2},
		{"drbd9/events2-split-brain.txt",
			"pbx Primary score=10101 may_promote=false susp=false | vol0 minor=0 UpToDate quorum=true | pbx-b StandAlone Unknown vol0 Off DUnknown | helper split-brain on \"pbx-b\" vol0: 0\n",
			FormatEvents2},
		{"drbd9/status-3node-sync.txt",
			"pbx Primary score=0 may_promote=? susp=false | vol0 minor=-1 UpToDate quorum=true | pbx-b Connected Secondary vol0 SyncSource Inconsistent 45.1% | pbx-c Connecting Unknown\n",
			FormatStatus},
		{"drbd9/status-verbose-noquorum.txt",
			"pbx Secondary score=0 may_promote=? susp=true | vol0 minor=0 UpToDate quorum=false | pbx-b Connecting Unknown vol0 Off DUnknown | pbx-c Connecting Unknown vol0 Off DUnknown\n",
			FormatStatus},
		{"proc84/syncsource-large.txt",
			"minor-0 Secondary score=0 may_promote=? susp=false | vol0 minor=0 UpToDate quorum=true | peer Connected Secondary vol0 SyncSource Inconsistent 32.0%\n",
			FormatProc},
		{"drbd84/split-brain-node-a/proc_drbd.txt",
			"minor-0 Primary score=0 may_promote=? susp=false | vol0 minor=0 UpToDate quorum=true | peer StandAlone Unknown vol0 Off DUnknown\n",
			FormatProc},
		{"drbd84/split-brain-node-a/drbdsetup_events2_now.txt",
			"r0 Primary score=0 may_promote=? susp=false | vol0 minor=0 UpToDate quorum=true | peer-node-0 StandAlone Unknown vol0 Off DUnknown\n",
			FormatEvents2},
		{"proc84/wfconnection-suspended.txt",
			"minor-0 Secondary score=0 may_promote=? susp=true | vol0 minor=0 Outdated quorum=true | peer Connecting Unknown vol0 Off DUnknown\n",
			FormatProc},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := readTestdata(t, tc.file)
			if got := DetectFormat(b); got != tc.format {
				t.Errorf("DetectFormat = %s, want %s", got, tc.format)
			}
			st, err := Parse(b, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(st); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestSyncDetails(t *testing.T) {
	for _, tc := range []struct {
		file string
		want SyncProgress
	}{
		{"drbd9/status-sync.json", SyncProgress{PercentDone: 37.5, ETA: 10 * time.Second, SpeedKiBps: 65536, LeftKiB: 655324}},
		{"drbd9/events2-now-3node-sync.txt", SyncProgress{PercentDone: 50, ETA: 16 * time.Second, SpeedKiBps: 32768, LeftKiB: 524252}},
		{"proc84/syncsource-large.txt", SyncProgress{PercentDone: 32, ETA: 297 * time.Second, SpeedKiBps: 23996, LeftKiB: 6963 << 10, TotalKiB: 10240 << 10}},
		{"drbd84/sync-target/proc_drbd.txt", SyncProgress{PercentDone: 6.3, ETA: 31 * time.Second, SpeedKiBps: 1872, LeftKiB: 63624, TotalKiB: 65496}},
		{"drbd84/sync-target/drbdsetup_events2_now.txt", SyncProgress{PercentDone: 100 * float64(65496-62688) / 65496, LeftKiB: 62688}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			st, err := Parse(readTestdata(t, tc.file), "")
			if err != nil {
				t.Fatal(err)
			}
			rs := st.Resources[0].Resyncs()
			if len(rs) != 1 {
				t.Fatalf("resyncs = %+v, want one", rs)
			}
			if rs[0].Progress != tc.want {
				t.Errorf("progress = %+v, want %+v", rs[0].Progress, tc.want)
			}
		})
	}
}

func TestParseEventTolerance(t *testing.T) {
	for _, tc := range []struct {
		line, key, want string
	}{
		{"change resource name:r0 role:Secondary->Primary", "role", "Primary"},
		{"2026-11-23T14:00:01.123456+00:00 change device name:r0 volume:0 disk:\x1b[1;32mUpToDate\x1b[0m", "disk", "UpToDate"},
		{"exists connection name:r0 conn-name:b connection:Connected some-new-field:42", "some-new-field", "42"},
		{"exists path name:r0 conn-name:b local:ipv4:198.18.0.1:7789 peer:ipv4:198.18.0.2:7789", "local", "ipv4:198.18.0.1:7789"},
	} {
		ev, err := ParseEvent(tc.line)
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if got := ev.Fields[tc.key]; got != tc.want {
			t.Errorf("%q: %s = %q, want %q", tc.line, tc.key, got, tc.want)
		}
	}
	ev, err := ParseEvent("2026-11-23T14:00:01.123456+00:00 exists -")
	if err != nil || !ev.InitialStateDone() || ev.Time.IsZero() {
		t.Errorf("timestamped exists -: %+v, %v", ev, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		format   Format
	}{
		{"events2 garbage", "hello world\n", FormatEvents2},
		{"events2 field without colon", "change resource name:r0 role\n", FormatEvents2},
		{"events2 device without volume", "change device name:r0 disk:UpToDate\n", FormatEvents2},
		{"events2 without name", "change resource role:Primary\n", FormatEvents2},
		{"json truncated", `[{"name": "r0"`, FormatJSON},
		{"proc without version", " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n", FormatProc},
		{"proc without ds", "version: 8.4.11 (api:1/proto:86-101)\n 0: cs:Connected ro:Primary/Secondary C r-----\n", FormatProc},
		{"unknown format", "", Format("xml")},
		{"status peer volume without a peer", "r0 role:Primary\n  disk:UpToDate\n    peer-disk:UpToDate\n", FormatStatus},
		{"status line before a resource", "  disk:UpToDate\n", FormatStatus},
		{"status field without colon", "r0 role:Primary\n  pbx-b role\n", FormatStatus},
	} {
		if st, err := Parse([]byte(tc.in), tc.format); err == nil {
			t.Errorf("%s: parsed %+v, want an error", tc.name, st)
		}
	}
}

func TestProcDRBD9(t *testing.T) {
	st, err := ParseProcDRBD([]byte("version: 9.2.12 (api:2/proto:86-122)\nGIT-hash: 0c2e9f8 build by root\nTransports (api:21): tcp (9.2.12)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "9" || len(st.Resources) != 0 {
		t.Errorf("got %+v, want version 9 and no resources", st)
	}
}
