package drbdvm

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"pbxha/internal/testenv"
)

// TestRemoveStale checks that a namespace left by a dead test process is
// removed while this process's own namespaces are kept.
func TestRemoveStale(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip", "true")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-1", nsPrefix, dead.Process.Pid)
	mine := fmt.Sprintf("%s%d-999", nsPrefix, pid)
	for _, ns := range []string{stale, mine} {
		if _, err := runHost("", "ip", "netns", "add", ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { runHost("", "ip", "netns", "del", ns) })
	}
	if err := removeStale(); err != nil {
		t.Fatal(err)
	}
	out, err := runHost("", "ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), stale+" ") || strings.Contains(string(out), stale+"\n") {
		t.Errorf("stale namespace %s still listed:\n%s", stale, out)
	}
	if !strings.Contains(string(out), mine) {
		t.Errorf("this process's namespace %s was removed:\n%s", mine, out)
	}
}
