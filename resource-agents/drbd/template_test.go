package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pbxha/internal/testenv"
)

// agentMainEnv makes the test binary run the agent (see TestMain), so that
// Pacemaker's tools can query its metadata without a separate build.
const agentMainEnv = "PBXHA_DRBD_AGENT_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(agentMainEnv) == "1" {
		Agent.Main()
	}
	os.Exit(m.Run())
}

// crmTemplate matches the crm snippet of docs/drbd.md.
var crmTemplate = regexp.MustCompile("(?s)```\n(primitive drbd-pbx .*?)```")

// TestCrmTemplate loads the crm template of docs/drbd.md with the real
// crmsh into an offline CIB and has crm_verify check it. The agent is made
// visible under /usr/lib/ocf/resource.d/pbxha in a private mount namespace
// (Pacemaker only looks there), so nothing on the host changes.
func TestCrmTemplate(t *testing.T) {
	testenv.Slow(t)
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "crm", "crm_verify", "cibadmin", "unshare", "mount")
	const heartbeat = "/usr/lib/ocf/resource.d/heartbeat"
	if _, err := os.Stat(filepath.Join(heartbeat, "Filesystem")); err != nil {
		t.Fatalf("resource-agents' Filesystem agent: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "drbd.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := crmTemplate.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/drbd.md has no crm template starting with `primitive drbd-pbx`")
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"rd/heartbeat", "rd/pbxha"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"rd/pbxha/drbd": "#!/bin/sh\n" + agentMainEnv + "=1 exec " + self + " \"$@\"\n",
		// The cluster's nodes, and no STONITH device in this offline CIB.
		"template.crm": "node pbx-a\nnode pbx-b\nnode pbx-c\n" + string(m[1]) + "property stonith-enabled=false\n",
		"run.sh": `set -e
mount --bind ` + heartbeat + ` rd/heartbeat
mount --rbind rd /usr/lib/ocf/resource.d
cibadmin --empty > cib.xml
export CIB_file=$PWD/cib.xml
crm configure load update template.crm
crm_verify -L
crm configure show
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "run.sh")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crm template rejected: %v\n%s", err, out)
	}
	for _, want := range []string{"primitive drbd-pbx ocf:pbxha:drbd", "promotable=true", "colocation fs-with-drbd inf: fs-pbx ms-drbd-pbx:Promoted"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("loaded configuration lacks %q:\n%s", want, out)
		}
	}
}
