package drbdctl

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var drbd84Dir = flag.String("drbd84", filepath.Join("testdata", "drbd84"),
	"real DRBD 8.4 captures written by test/drbdvm's TestCapture84")

// require84 skips when the real DRBD 8.4 captures are absent.
func require84(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(*drbd84Dir, "manifest.tsv")); err != nil {
		t.Skipf("no DRBD 8.4 captures in %s (test/drbdvm TestCapture84 writes them): %v", *drbd84Dir, err)
	}
}

func read84(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(*drbd84Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// facts84 renders the facts both 8.4 sources carry: role and disk, then
// the peer's connection, role, replication and disk.
func facts84(st Status) string {
	if len(st.Resources) == 0 {
		return "none"
	}
	r := st.Resources[0]
	s := fmt.Sprintf("%s %s", r.Role, r.LocalDisk())
	for _, c := range r.Connections {
		s += fmt.Sprintf(" | %s %s", c.State, c.PeerRole)
		for _, p := range c.PeerDevices {
			s += fmt.Sprintf(" %s %s", p.Replication, p.PeerDisk)
		}
	}
	return s
}

// TestDRBD84Captures parses /proc/drbd and `drbdsetup-84 events2 --now
// --statistics` of every state captured on real DRBD 8.4: both must give
// the state the capture was taken in.
func TestDRBD84Captures(t *testing.T) {
	require84(t)
	for state, want := range map[string]string{
		"unconfigured":           "none",
		"wfconnection":           "Secondary Inconsistent | Connecting Unknown Off DUnknown",
		"connected-inconsistent": "Secondary Inconsistent | Connected Secondary Established Inconsistent",
		"sync-source":            "Primary UpToDate | Connected Secondary SyncSource Inconsistent",
		"sync-target":            "Secondary Inconsistent | Connected Primary SyncTarget UpToDate",
		"connected-primary":      "Primary UpToDate | Connected Secondary Established UpToDate",
		"connected-secondary":    "Secondary UpToDate | Connected Primary Established UpToDate",
		"disconnected-primary":   "Primary UpToDate | Connecting Unknown Off DUnknown",
		"split-brain-node-a":     "Primary UpToDate | StandAlone Unknown Off DUnknown",
		"split-brain-node-b":     "Primary UpToDate | StandAlone Unknown Off DUnknown",
		"diskless":               "Secondary Diskless | Connected Primary Established UpToDate",
		"peer-diskless":          "Primary UpToDate | Connected Secondary Established Diskless",
	} {
		t.Run(state, func(t *testing.T) {
			for _, src := range []struct {
				file   string
				format Format
			}{{"proc_drbd.txt", FormatProc}, {"drbdsetup_events2_now.txt", FormatEvents2}, {"drbdsetup_status.txt", FormatStatus}} {
				b := read84(t, filepath.Join(state, src.file))
				if got := DetectFormat(b); got != src.format && len(b) > 0 {
					t.Errorf("%s: detected %s, want %s", src.file, got, src.format)
				}
				want := want
				if src.format == FormatStatus && strings.HasPrefix(state, "split-brain") {
					// drbdsetup-84 status leaves out a StandAlone connection.
					want, _, _ = strings.Cut(want, " | ")
				}
				st, err := Parse(b, src.format)
				if err != nil {
					t.Fatalf("%s: %v", src.file, err)
				}
				if got := facts84(st); got != want {
					t.Errorf("%s:\n got %s\nwant %s", src.file, got, want)
				}
				if src.format == FormatProc && st.Version != "8.4" {
					t.Errorf("%s: version %q, want 8.4", src.file, st.Version)
				}
				if strings.HasPrefix(state, "split-brain") && src.format != FormatStatus {
					if _, sa := st.Resources[0].SplitBrain(); len(sa) != 1 {
						t.Errorf("%s: StandAlone connections %v, want one", src.file, sa)
					}
				}
				if strings.HasPrefix(state, "sync-") {
					rs := st.Resources[0].Resyncs()
					if len(rs) != 1 || rs[0].Progress.PercentDone <= 0 || rs[0].Progress.PercentDone >= 100 {
						t.Errorf("%s: resyncs %+v, want one with a percentage in (0, 100)", src.file, rs)
					}
				}
			}
		})
	}
}

// TestDRBD84Refusals classifies the real refusals of `drbdadm primary`.
func TestDRBD84Refusals(t *testing.T) {
	require84(t)
	for file, want := range map[string]error{
		"connected-inconsistent/drbdadm_primary.stderr": ErrNoUpToDateData,
		"connected-secondary/drbdadm_primary.stderr":    ErrMultiplePrimaries,
	} {
		if err := ClassifyFailure(read84(t, file)); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", file, err, want)
		}
	}
}

// TestDRBD84Timeline follows the events2 stream recorded through the whole
// capture run (sync, split brain, recovery, detach) on each node.
func TestDRBD84Timeline(t *testing.T) {
	require84(t)
	for _, node := range []string{"node-a", "node-b"} {
		t.Run(node, func(t *testing.T) {
			f, err := os.Open(filepath.Join(*drbd84Dir, "events2-timeline", node+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var changes []string
			st, err := Watch(f, func(c Change) { changes = append(changes, c.What()) })
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(changes, "\n")
			for _, want := range []string{
				"helper split-brain (peer peer) called: SPLIT BRAIN left unresolved",
				"peer peer connection: Disconnecting -> StandAlone",
				"peer peer volume 0 replication: Established -> WFBitMap",
			} {
				if !strings.Contains(all, want) {
					t.Errorf("changes lack %q:\n%s", want, all)
				}
			}
			r, ok := st.Resource("r0")
			if !ok || !r.Connected() {
				t.Fatalf("final state %+v, want r0 connected again", st)
			}
			if helper, standAlone := r.SplitBrain(); len(helper)+len(standAlone) != 0 {
				t.Errorf("split brain still reported after recovery: %v %v", helper, standAlone)
			}
		})
	}
}
