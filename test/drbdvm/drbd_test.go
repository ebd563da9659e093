package drbdvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pbxha/internal/testenv"
)

// TestResourceFile has drbd-utils' 8.4 drbdadm plan `up` of the generated
// resource file for each node (dry run, no kernel module needed).
func TestResourceFile(t *testing.T) {
	const drbdadm84 = "/usr/lib/drbd/drbdadm-84"
	testenv.RequireTool(t, drbdadm84)
	guests := []*Guest{{Name: "node-a", IP: "198.18.10.1"}, {Name: "node-b", IP: "198.18.10.2"}}
	conf := filepath.Join(t.TempDir(), "r0.res")
	if err := os.WriteFile(conf, []byte(ResourceFile(guests, "\tdisk {\n\t\tresync-rate 4M;\n\t}\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ node, want string }{
		{"node-a", "connect r0 ipv4:198.18.10.1:7789 ipv4:198.18.10.2:7789 --protocol=C --ping-int=2"},
		{"node-b", "connect r0 ipv4:198.18.10.2:7789 ipv4:198.18.10.1:7789 --protocol=C --ping-int=2"},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			cmd := exec.Command(drbdadm84, "-c", conf, "-d", "up", Resource)
			cmd.Env = append(os.Environ(), "__DRBD_NODE__="+tt.node)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("drbdadm-84 -d up: %v\n%s", err, out)
			}
			for _, want := range []string{tt.want, "attach 0 " + Disk + " " + Disk + " internal --resync-rate=4M"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("plan lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
