package drbdctl

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vectorDir holds drbd-utils' own events2 test vectors (see SOURCE.txt
// there), next to the repository root, outside a user's clone.
var vectorDir = filepath.Join("..", "..", "shared", "testdata", "drbd9-events2")

// vectorRun is one "$ command" of a .test file and the lines it printed.
type vectorRun struct {
	cmd   string
	lines []string
}

var exitLine = regexp.MustCompile(`^\d+$`)

// readVector splits a drbd-utils .test file into its runs.
func readVector(t *testing.T, path string) []vectorRun {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []vectorRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "$ "):
			runs = append(runs, vectorRun{cmd: line})
		case exitLine.MatchString(line) || len(runs) == 0:
			// exit status printed by "echo $?"
		default:
			runs[len(runs)-1].lines = append(runs[len(runs)-1].lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestEvents2Vectors runs the parser over every drbd-utils events2 vector:
// every printed line must parse, every variant of a vector (--diff, --color,
// --timestamps, --statistics, --full) must fold to the same state as the
// plain run, and that state must be the one the vector describes.
func TestEvents2Vectors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(vectorDir, "events2-*.test"))
	if len(files) == 0 {
		t.Skipf("no drbd-utils events2 vectors in %s (they live next to the repository, not in it)", vectorDir)
	}
	const r = "some-resource Secondary score=0 may_promote=false susp=false"
	const dev0 = " | vol0 minor=1000 Diskless quorum=true"
	const peerOff = " | some-peer StandAlone Unknown vol0 Off DUnknown"
	want := map[string]string{
		"events2-all-create-change":            "some-resource Primary score=10102 may_promote=false susp=false | vol0 minor=1000 UpToDate quorum=true | some-peer Connected Secondary vol0 Established UpToDate\n",
		"events2-all-create-destroy":           "",
		"events2-all-create-helper":            r + dev0 + peerOff + " | helper before-resync-target on \"some-peer\" vol0: 1\n",
		"events2-change-before-exists":         "some-resource Primary score=10101 may_promote=false susp=false | vol0 minor=1000 UpToDate quorum=true\n",
		"events2-create-before-exists":         r + dev0 + "\n",
		"events2-destroy-before-exists":        "",
		"events2-device-create-destroy":        "",
		"events2-exists-before-create":         r + dev0 + "\n",
		"events2-first-out-of-order":           r + " | vol1 minor=1001 Diskless quorum=true | vol0 minor=1000 Diskless quorum=true | some-peer StandAlone Unknown\n",
		"events2-may-promote-peer-data":        "some-resource Secondary score=1 may_promote=true susp=false" + dev0 + " | some-peer Connected Secondary vol0 Established UpToDate\n",
		"events2-may-promote-peer-role":        "some-resource Secondary score=10101 may_promote=false susp=false | vol0 minor=1000 UpToDate quorum=true | some-peer Connected Primary vol0 Off DUnknown\n",
		"events2-may-promote-quorum":           "some-resource Secondary score=0 may_promote=false susp=false | vol0 minor=1000 UpToDate quorum=false\n",
		"events2-no-resources":                 "",
		"events2-out-of-order":                 r + dev0 + " | vol1 minor=1001 Diskless quorum=true | some-peer StandAlone Unknown\n",
		"events2-promotion-score-devices":      "some-resource Secondary score=10201 may_promote=true susp=false | vol0 minor=1000 UpToDate quorum=true | vol1 minor=1001 UpToDate quorum=true\n",
		"events2-promotion-score-inconsistent": "some-resource Secondary score=10001 may_promote=true susp=false | vol0 minor=1000 Inconsistent quorum=true | some-peer Connected Secondary vol0 Established UpToDate\n",
		"events2-resource-create-destroy":      "",
		"events2-resource-exists":              r + "\n",
		"events2-sync":                         "some-resource Secondary score=10101 may_promote=true susp=false | vol0 minor=1000 UpToDate quorum=true | some-peer Connected Secondary vol0 SyncSource Inconsistent 37.5%\n",
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".test")
		t.Run(name, func(t *testing.T) {
			runs := readVector(t, path)
			if len(runs) == 0 {
				t.Fatal("no runs in vector")
			}
			exp, ok := want[name]
			if !ok {
				t.Fatalf("new vector %s: add its expected state to this table", name)
			}
			for _, run := range runs {
				var st Status
				for _, line := range run.lines {
					if strings.Contains(run.cmd, "cat -v") {
						line = strings.ReplaceAll(line, "^[", "\x1b") // undo cat -v
					}
					ev, err := ParseEvent(line)
					if err != nil {
						t.Fatalf("%s: %v", run.cmd, err)
					}
					if err := st.Apply(ev); err != nil {
						t.Fatalf("%s: %q: %v", run.cmd, line, err)
					}
				}
				if got := describe(st); got != exp {
					t.Errorf("%s:\n got %s\nwant %s", run.cmd, got, exp)
				}
				// Following the same lines as a stream ends in the same state.
				if !strings.Contains(run.cmd, "cat -v") {
					watched, err := Watch(strings.NewReader(strings.Join(run.lines, "\n")), func(Change) {})
					if err != nil {
						t.Fatalf("%s: Watch: %v", run.cmd, err)
					}
					if got := describe(watched); got != exp {
						t.Errorf("%s: Watch ended in\n %s\nwant %s", run.cmd, got, exp)
					}
				}
			}
		})
	}
}

// TestEvents2VectorStatistics checks the statistics fields of the sync
// vector: done, eta, rate and out-of-sync.
func TestEvents2VectorStatistics(t *testing.T) {
	path := filepath.Join(vectorDir, "events2-sync.test")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("drbd-utils events2 vectors absent (%v)", err)
	}
	for _, run := range readVector(t, path) {
		if !strings.Contains(run.cmd, "--statistics") {
			continue
		}
		st, err := ParseEvents2([]byte(strings.Join(run.lines, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		rs := st.Resources[0].Resyncs()
		want := SyncProgress{PercentDone: 37.5, ETA: 10e9, SpeedKiBps: 245, LeftKiB: 2500}
		if len(rs) != 1 || rs[0].Progress != want {
			t.Errorf("resyncs = %+v, want one with %+v", rs, want)
		}
		return
	}
	t.Fatal("no --statistics run in events2-sync.test")
}
