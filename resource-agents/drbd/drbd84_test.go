package drbd

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pbxha/drbdctl/drbdtest"
	"pbxha/resource-agents/ocf"
)

var drbd84Dir = flag.String("drbd84", filepath.Join("..", "..", "drbdctl", "testdata", "drbd84"),
	"real DRBD 8.4 captures written by test/drbdvm's TestCapture84")

// TestMonitorDRBD84 runs a recurring monitor on every state captured on
// real DRBD 8.4 (resource r0): exit code and promotion score.
func TestMonitorDRBD84(t *testing.T) {
	if _, err := os.Stat(filepath.Join(*drbd84Dir, "manifest.tsv")); err != nil {
		t.Skipf("no DRBD 8.4 captures in %s (test/drbdvm TestCapture84 writes them): %v", *drbd84Dir, err)
	}
	const cmd = "drbdsetup events2 --now --statistics r0"
	for _, tc := range []struct {
		state string
		want  ocf.Status
		score string // "" for deleted
		log   string
	}{
		{"unconfigured", ocf.NotRunning, "-", ""},
		{"wfconnection", ocf.Success, "", ""},
		{"connected-inconsistent", ocf.Success, "", ""},
		{"sync-source", ocf.RunningPromoted, "10000", ""},
		{"sync-target", ocf.Success, "", ""},
		{"connected-primary", ocf.RunningPromoted, "10000", ""},
		{"connected-secondary", ocf.Success, "10000", ""},
		{"disconnected-primary", ocf.RunningPromoted, "10000", ""},
		{"split-brain-node-a", ocf.RunningPromoted, "10000", "is StandAlone (split brain?)"},
		{"diskless", ocf.ErrGeneric, "", "volume 0 disk Diskless"},
		{"peer-diskless", ocf.RunningPromoted, "10000", ""},
	} {
		t.Run(tc.state, func(t *testing.T) {
			calls := []drbdtest.Call{{Cmd: cmd, Stdout: drbdtest.File(t, filepath.Join(*drbd84Dir, tc.state, "drbdsetup_events2_now.txt"))}}
			switch tc.score {
			case "-":
			case "":
				calls = append(calls, delScore)
			default:
				calls = append(calls, score(tc.score))
			}
			st, log := run(t, t.TempDir(), "monitor", map[string]string{"OCF_RESKEY_drbd_resource": "r0", "OCF_RESKEY_CRM_meta_interval": "31000"}, calls...)
			if st != tc.want || !strings.Contains(log, tc.log) {
				t.Errorf("monitor = %v, want %v with %q in the log:\n%s", st, tc.want, tc.log, log)
			}
		})
	}
}
