package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the tests run this binary's main by re-executing the test
// binary with DRBDCTL_RUN_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("DRBDCTL_RUN_MAIN") == "1" {
		os.Args = append([]string{"drbdctl"}, strings.Fields(os.Getenv("DRBDCTL_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCLI(t *testing.T) {
	const td = "../../drbdctl/testdata/"
	for _, tc := range []struct {
		name, args string
		code       int
		out, err   string
	}{
		{"status of a JSON capture", "status -i " + td + "drbd9/status-sync.json", 0, "peer pbx-a: Connected, role Primary", ""},
		{"status of a drbdadm status capture", "status -i " + td + "drbd9/status-3node-sync.txt", 0, "volume 0: SyncSource, peer disk Inconsistent  [=========>", ""},
		{"status as JSON", "status --json -i " + td + "drbd84/split-brain-node-a/proc_drbd.txt", 0, `"state": "StandAlone"`, ""},
		{"status of a missing resource", "status -r nope -i " + td + "drbd84/split-brain-node-a/proc_drbd.txt", 3, "", "resource nope is not in the status read"},
		{"status of an unreadable capture", "status -i /nonexistent", 2, "", "read capture"},
		{"status with a wrong format", "status --format proc -i " + td + "drbd9/status-sync.json", 1, "", "no \"version:\" line"},
		{"watch replays a capture", "watch -i " + td + "drbd9/events2-split-brain.txt", 0, "pbx: peer pbx-b connection: Disconnecting -> StandAlone", ""},
		{"watch as JSON lines", "watch --json -i " + td + "drbd9/events2-split-brain.txt", 0, `{"resource":"pbx","fact":"peer pbx-b connection","old":"Disconnecting","new":"StandAlone"}`, ""},
		{"gen-config 8.4 by node count", "gen-config -r pbx --disk /dev/vdb --node a=198.18.0.11:7789 --node b=198.18.0.12:7789", 0, "for DRBD 8.4, 2 nodes", ""},
		{"gen-config 9", "gen-config -r pbx --disk /dev/vdb --node a=198.18.0.11:7789 --node b=198.18.0.12:7789 --node c=198.18.0.13:7789", 0, "quorum majority;", ""},
		{"gen-config bad node", "gen-config -r pbx --disk /dev/vdb --node a=nowhere", 2, "", `node "a=nowhere"`},
		{"gen-config missing disk", "gen-config -r pbx --node a=198.18.0.11:7789", 2, "", `Required flag "disk" not set`},
		{"resolve without a side", "resolve-split-brain -r pbx", 2, "", "exactly one of --discard-my-data or --keep-my-data"},
		{"wait with a bad progress mode", "wait-sync -r pbx --progress sometimes", 2, "", `--progress "sometimes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "DRBDCTL_RUN_MAIN=1", "DRBDCTL_ARGS="+tc.args)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("drbdctl %s: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
					tc.args, code, stdout.String(), stderr.String(), tc.code, tc.out, tc.err)
			}
		})
	}
}
