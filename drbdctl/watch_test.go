package drbdctl

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestWatchSplitBrain(t *testing.T) {
	var got []string
	st, err := Watch(bytes.NewReader(readTestdata(t, "drbd9/events2-split-brain.txt")), func(c Change) { got = append(got, c.String()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pbx: peer pbx-b connection: Connecting -> Connected",
		"pbx: peer pbx-b role: Unknown -> Primary",
		"pbx: helper split-brain (peer pbx-b) called: SPLIT BRAIN left unresolved, see `drbdctl resolve-split-brain --help`",
		"pbx: helper split-brain (peer pbx-b) returned 0: SPLIT BRAIN left unresolved, see `drbdctl resolve-split-brain --help`",
		"pbx: peer pbx-b connection: Connected -> Disconnecting",
		"pbx: peer pbx-b role: Primary -> Unknown",
		"pbx: peer pbx-b connection: Disconnecting -> StandAlone",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	helper, standAlone := st.Resources[0].SplitBrain()
	if len(helper) != 1 || len(standAlone) != 1 {
		t.Errorf("SplitBrain() = %v, %v; want pbx-b in both", helper, standAlone)
	}
}

func TestWatchTimestampsAndLifecycle(t *testing.T) {
	in := "2026-11-23T14:00:00.000000+00:00 exists -\n" +
		"2026-11-23T14:00:01.250000+00:00 create resource name:r0 role:Secondary suspended:no\n" +
		"2026-11-23T14:00:02.000000+00:00 change resource name:r0 role:Primary\n" +
		"2026-11-23T14:00:03.000000+00:00 destroy resource name:r0\n"
	var got []string
	if _, err := Watch(strings.NewReader(in), func(c Change) { got = append(got, c.String()) }); err != nil {
		t.Fatal(err)
	}
	want := "14:00:01.250 r0: resource appeared|14:00:01.250 r0: I/O: (none) -> running|14:00:01.250 r0: role: (none) -> Secondary|" +
		"14:00:02.000 r0: role: Secondary -> Primary|14:00:03.000 r0: resource gone"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("changes:\n%s\nwant:\n%s", g, want)
	}
	if _, err := Watch(strings.NewReader("exists -\nnonsense\n"), func(Change) {}); err == nil {
		t.Error("Watch accepted a malformed line")
	}
}

func TestSummaryGolden(t *testing.T) {
	for _, in := range []string{"drbd9/status-sync.json", "drbd9/events2-split-brain.txt", "drbd9/status-noquorum.json",
		"drbd9/status-standalone-suspended.json", "drbd84/sync-target/proc_drbd.txt", "drbd84/split-brain-node-a/drbdsetup_events2_now.txt",
		"drbd9/status-3node-sync.txt"} {
		t.Run(in, func(t *testing.T) {
			st, err := Parse(readTestdata(t, in), "")
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := WriteSummary(&b, st); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "summary", strings.NewReplacer("/", "-", ".", "-").Replace(in)+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("summary:\n%s\nwant (%s):\n%s", b.String(), golden, want)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		p    SyncProgress
		want string
	}{
		{SyncProgress{PercentDone: 0}, "[>         ]   0.0%"},
		{SyncProgress{PercentDone: 37.5, LeftKiB: 40960, SpeedKiBps: 7168, ETA: 5 * time.Second}, "[===>      ]  37.5%  40.0 MiB left  7.0 MiB/s  ETA 0:00:05"},
		{SyncProgress{PercentDone: 100, LeftKiB: 0}, "[==========] 100.0%"},
		{SyncProgress{PercentDone: 99.9, LeftKiB: 3 << 20, ETA: 3725 * time.Second}, "[=========>]  99.9%  3.0 GiB left  ETA 1:02:05"},
	} {
		if got := ProgressLine(tc.p, 10); got != tc.want {
			t.Errorf("ProgressLine(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestEstimator(t *testing.T) {
	var e Estimator
	t0 := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	if p := e.Update(t0, SyncProgress{LeftKiB: 10240}); p.ETA != 0 || p.SpeedKiBps != 0 {
		t.Errorf("first sample: %+v, want no estimate", p)
	}
	p := e.Update(t0.Add(2*time.Second), SyncProgress{LeftKiB: 8192})
	if p.SpeedKiBps != 1024 || p.ETA != 8*time.Second {
		t.Errorf("second sample: %+v, want 1024 KiB/s and ETA 8s", p)
	}
	given := e.Update(t0.Add(3*time.Second), SyncProgress{LeftKiB: 7168, SpeedKiBps: 4096, ETA: time.Second})
	if given.SpeedKiBps != 4096 || given.ETA != time.Second {
		t.Errorf("DRBD's own figures were replaced: %+v", given)
	}
}

func TestProgressPrinter(t *testing.T) {
	syncing := func(oos uint64) Resource {
		return Resource{Name: "r0", Devices: []Device{{Disk: UpToDate, Quorum: true, SizeKiB: 1000}},
			Connections: []Connection{{Name: "b", State: Connected, PeerDevices: []PeerDevice{{Replication: SyncSource, PeerDisk: Inconsistent, OutOfSyncKiB: oos}}}}}
	}
	connecting := Resource{Name: "r0", Devices: []Device{{Disk: UpToDate, Quorum: true}}, Connections: []Connection{{Name: "b", State: Connecting}}}
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	// The estimator smooths the rate: 5 KiB/s, then 0.7*5 + 0.3*95 = 32 KiB/s.
	p := &ProgressPrinter{W: &b, Now: func() time.Time { now = now.Add(time.Second); return now }}
	for _, r := range []Resource{connecting, connecting, syncing(900), syncing(895), syncing(800), syncing(800)} {
		p.Show(r)
	}
	p.Done()
	want := "r0: disk UpToDate, b Connecting\n" +
		"r0 [===>                          ]  10.0%  900 KiB left\n" +
		"r0 [======>                       ]  20.0%  800 KiB left  32 KiB/s  ETA 0:00:25\n"
	if b.String() != want {
		t.Errorf("non-terminal progress:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	tp := &ProgressPrinter{W: &b, Terminal: true}
	tp.Show(connecting)
	tp.Show(connecting)
	tp.Done()
	if want := "\r\x1b[Kr0: disk UpToDate, b Connecting\r\x1b[Kr0: disk UpToDate, b Connecting\n"; b.String() != want {
		t.Errorf("terminal progress %q, want %q", b.String(), want)
	}
}
