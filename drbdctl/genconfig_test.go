package drbdctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pbxha/internal/testenv"
)

func nodes(t *testing.T, specs ...string) []ConfigNode {
	t.Helper()
	var out []ConfigNode
	for _, s := range specs {
		n, err := ParseConfigNode(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestGenerateConfigInvalid(t *testing.T) {
	two := []string{"a=198.18.0.11:7789", "b=198.18.0.12:7789"}
	three := append(two, "c=198.18.0.13:7789")
	for _, tc := range []struct {
		name  string
		c     ResourceConfig
		specs []string
		want  string
	}{
		{"bad name", ResourceConfig{Resource: "p bx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "9"}, three, "resource name"},
		{"bad device", ResourceConfig{Resource: "pbx", Device: "/dev/sdb", Disk: "/dev/vdb", Version: "9"}, three, "want /dev/drbdN"},
		{"relative disk", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "vdb", Version: "9"}, three, "absolute device path"},
		{"8.4 with 3 nodes", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.4"}, three, "exactly 2 nodes, got 3"},
		{"9 with 2 nodes", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "9"}, two, "3 to 32 nodes, got 2"},
		{"version", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.3"}, two, "want 8.4 or 9"},
		{"duplicate name", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.4"}, []string{"a=198.18.0.11:7789", "a=198.18.0.12:7789"}, "given twice"},
		{"duplicate address", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.4"}, []string{"a=198.18.0.11:7789", "b=198.18.0.11:7789"}, "given twice"},
		{"mixed families", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.4"}, []string{"a=198.18.0.11:7789", "b=[fd00::2]:7789"}, "mixes IPv4 and IPv6"},
		{"port 0", ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: "8.4"}, []string{"a=198.18.0.11:0", "b=198.18.0.12:7789"}, "unicast ADDR:PORT"},
	} {
		tc.c.Nodes = nodes(t, tc.specs...)
		if _, err := GenerateConfig(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	for _, s := range []string{"a", "=198.18.0.1:1", "a=198.18.0.1", "a=host:7789"} {
		if _, err := ParseConfigNode(s); err == nil {
			t.Errorf("ParseConfigNode(%q): want an error", s)
		}
	}
}

// drbdadmRun runs drbdadm (or drbdadm-84) on a generated file as node.
func drbdadmRun(t *testing.T, prog, file, node string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, append([]string{"-c", file}, args...)...)
	cmd.Env = append(os.Environ(), "__DRBD_NODE__="+node)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("__DRBD_NODE__=%s %s: %v\n%s%s", node, strings.Join(cmd.Args, " "), err, out, stderr)
	}
	return string(out)
}

// TestGenerateConfigDrbdadm has the real drbdadm parse the generated files
// (`drbdadm dump`) and plan `up` on every node (`drbdadm -d up`); neither
// needs the kernel module.
func TestGenerateConfigDrbdadm(t *testing.T) {
	testenv.RequireTool(t, "drbdadm")
	drbdadm84 := filepath.Join(drbdLibDir, "drbdadm-84")
	if _, err := os.Stat(drbdadm84); err != nil {
		t.Fatalf("drbd-utils without its 8.4 tools: %v", err)
	}
	for _, tc := range []struct {
		version, prog string
		specs         []string
		dump          []string
		up            map[string][]string
	}{
		{
			"9", "drbdadm",
			[]string{"pbx-a=198.18.0.11:7789", "pbx-b=198.18.0.12:7789", "pbx-c=198.18.0.13:7789"},
			[]string{"quorum           majority;", "on-no-quorum     io-error;", "fencing          resource-only;", "hosts pbx-a pbx-b pbx-c;",
				"fence-peer       /usr/lib/drbd/crm-fence-peer.9.sh;", "unfence-peer     /usr/lib/drbd/crm-unfence-peer.9.sh;", "node-id 2;"},
			map[string][]string{
				"pbx-a": {"drbdsetup new-resource pbx 0 --auto-promote=no --quorum=majority --on-no-quorum=io-error",
					"drbdsetup new-peer pbx 1 --_name=pbx-b", "drbdsetup new-peer pbx 2 --_name=pbx-c", "--fencing=resource-only",
					"drbdsetup new-path pbx 1 ipv4:198.18.0.11:7789 ipv4:198.18.0.12:7789",
					"drbdsetup new-path pbx 2 ipv4:198.18.0.11:7789 ipv4:198.18.0.13:7789",
					"drbdsetup attach 0 /dev/vdb /dev/vdb internal", "drbdsetup connect pbx 1", "drbdsetup connect pbx 2"},
				"pbx-b": {"drbdsetup new-resource pbx 1 ", "drbdsetup new-path pbx 0 ipv4:198.18.0.12:7789 ipv4:198.18.0.11:7789",
					"drbdsetup new-path pbx 2 ipv4:198.18.0.12:7789 ipv4:198.18.0.13:7789"},
				"pbx-c": {"drbdsetup new-resource pbx 2 ", "drbdsetup new-path pbx 0 ipv4:198.18.0.13:7789 ipv4:198.18.0.11:7789",
					"drbdsetup new-path pbx 1 ipv4:198.18.0.13:7789 ipv4:198.18.0.12:7789"},
			},
		},
		{
			"8.4", drbdadm84,
			[]string{"pbx-a=198.18.0.11:7789", "pbx-b=198.18.0.12:7789"},
			[]string{"fencing          resource-only;", "fence-peer       /usr/lib/drbd/crm-fence-peer.9.sh;",
				"after-resync-target /usr/lib/drbd/crm-unfence-peer.9.sh;", "after-sb-0pri    discard-zero-changes;"},
			map[string][]string{
				"pbx-a": {"drbdsetup-84 new-resource pbx", "drbdsetup-84 new-minor pbx 0 0",
					"drbdsetup-84 attach 0 /dev/vdb /dev/vdb internal --fencing=resource-only",
					"drbdsetup-84 connect pbx ipv4:198.18.0.11:7789 ipv4:198.18.0.12:7789 --protocol=C"},
				"pbx-b": {"drbdsetup-84 connect pbx ipv4:198.18.0.12:7789 ipv4:198.18.0.11:7789 --protocol=C"},
			},
		},
	} {
		t.Run("drbd"+tc.version, func(t *testing.T) {
			b, err := GenerateConfig(ResourceConfig{Resource: "pbx", Device: "/dev/drbd0", Disk: "/dev/vdb", Version: tc.version, Nodes: nodes(t, tc.specs...)})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "pbx.res")
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for node, wants := range tc.up {
				dump := drbdadmRun(t, tc.prog, file, node, "dump", "pbx")
				for _, w := range tc.dump {
					if !strings.Contains(dump, w) {
						t.Errorf("%s: drbdadm dump lacks %q:\n%s", node, w, dump)
					}
				}
				up := drbdadmRun(t, tc.prog, file, node, "-d", "up", "pbx")
				for _, w := range wants {
					if !strings.Contains(up, w) {
						t.Errorf("%s: drbdadm -d up lacks %q:\n%s", node, w, up)
					}
				}
			}
		})
	}
}
