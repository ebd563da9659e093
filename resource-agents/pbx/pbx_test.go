package pbx

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pbxha/internal/sipprobe"
	"pbxha/internal/testenv"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/ocf/ocftest"
)

func TestMetadata(t *testing.T) { ocftest.CheckMetadata(t, Agent.WriteMetadata) }

type fixture struct {
	t              *testing.T
	ocfRoot, agent string
	params         map[string]string
}

func freePort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newFixture builds the agent and pbx, and initialises a data directory.
func newFixture(t *testing.T) *fixture {
	testenv.RequireRoot(t) // HA_RSCTMP and pidfiles as Pacemaker has them; the agent runs as root
	root, agent := ocftest.BuildAgent(t, "pbx")
	bin := filepath.Join(root, "pbx")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(testenv.RepoRoot(t), "cmd", "pbx")).CombinedOutput(); err != nil {
		t.Fatalf("build pbx: %v\n%s", err, out)
	}
	data := t.TempDir()
	if out, err := exec.Command(bin, "init", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("pbx init: %v\n%s", err, out)
	}
	f := &fixture{t: t, ocfRoot: root, agent: agent, params: map[string]string{
		"OCF_RESOURCE_INSTANCE": "pbx", "HA_RSCTMP": t.TempDir(),
		"OCF_RESKEY_listen":    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"OCF_RESKEY_data":      data,
		"OCF_RESKEY_rtp_ports": "41000-41100",
		"OCF_RESKEY_log":       filepath.Join(t.TempDir(), "pbx.log"),
	}}
	t.Cleanup(func() {
		if pid := f.pid(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return f
}

func (f *fixture) pid() int {
	b, err := os.ReadFile(filepath.Join(f.params["HA_RSCTMP"], "pbxha-pbx-pbx.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (f *fixture) expect(action string, extra map[string]string, want ocf.Status, reason string) {
	f.t.Helper()
	ocftest.Expect(f.t, f.ocfRoot, f.agent, action, f.params, extra, int(want), reason)
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	f.expect("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "0"}, ocf.NotRunning, "")
	f.expect("start", nil, ocf.Success, "ready on "+f.params["OCF_RESKEY_listen"])
	first := f.pid()
	if first == 0 || !alive(first) {
		t.Fatalf("no daemon after start (pid %d)", first)
	}
	// Ready means answering: an OPTIONS right after start gets 200.
	if line, err := sipprobe.Options(t.Context(), f.params["OCF_RESKEY_listen"], 2*time.Second); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after start: %q %v", line, err)
	}
	f.expect("monitor", nil, ocf.Success, "")
	f.expect("start", nil, ocf.Success, "")
	if f.pid() != first {
		t.Fatalf("second start replaced the daemon (%d -> %d)", first, f.pid())
	}

	// A crashed daemon is reported gone; start brings a new one.
	_ = syscall.Kill(first, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for alive(first) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	f.expect("monitor", nil, ocf.NotRunning, "")
	f.expect("start", nil, ocf.Success, "ready")
	second := f.pid()
	if second == first || !alive(second) {
		t.Fatalf("restart: pid %d (was %d)", second, first)
	}
	f.expect("stop", nil, ocf.Success, "stopped")
	deadline = time.Now().Add(5 * time.Second)
	for alive(second) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(second) {
		t.Fatalf("pbx %d still running after stop", second)
	}
	f.expect("stop", nil, ocf.Success, "")
	f.expect("monitor", nil, ocf.NotRunning, "")
}

// TestStartFailureSaysWhy: a daemon that refuses to start makes start fail
// with the daemon's own reason (here: the address is not on this host).
func TestStartFailureSaysWhy(t *testing.T) {
	f := newFixture(t)
	f.expect("start", map[string]string{"OCF_RESKEY_listen": "198.18.77.77:5060"}, ocf.ErrGeneric, "pbx exited before it was ready (exit status 1): pbx: listen udp 198.18.77.77:5060")
}

func TestValidateAll(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		extra  map[string]string
		want   ocf.Status
		reason string
	}{
		{nil, ocf.Success, ""},
		{map[string]string{"OCF_RESKEY_listen": "0.0.0.0:5060"}, ocf.ErrConfigured, "the PBX listens on one address (the VIP), not a wildcard"},
		{map[string]string{"OCF_RESKEY_listen": "198.18.0.50"}, ocf.ErrConfigured, `parameter listen: "198.18.0.50" is not IP:PORT`},
		{map[string]string{"OCF_RESKEY_rtp_ports": "20001-20100"}, ocf.ErrConfigured, "parameter rtp_ports: \"20001-20100\" is not LOW-HIGH with an even LOW"},
		{map[string]string{"OCF_RESKEY_binary": "/nonexistent/pbx"}, ocf.ErrInstalled, "pbx program /nonexistent/pbx is not installed"},
		{map[string]string{"OCF_RESKEY_data": t.TempDir()}, ocf.ErrArgs, "is not initialised here (no pbx.db: is the volume mounted?"},
	}
	for _, c := range cases {
		f.expect("validate-all", c.extra, c.want, c.reason)
	}
}

func TestOCFTester(t *testing.T) {
	testenv.RequireTool(t, "ocf-tester")
	f := newFixture(t)
	args := []string{"-n", "pbx"}
	for _, k := range []string{"listen", "data", "rtp_ports", "log"} {
		args = append(args, "-o", k+"="+f.params["OCF_RESKEY_"+k])
	}
	cmd := exec.Command("ocf-tester", append(args, f.agent)...)
	cmd.Env = append(os.Environ(), "OCF_ROOT="+f.ocfRoot, "HA_RSCTMP="+f.params["HA_RSCTMP"])
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Errorf("ocf-tester: %v\n%s", err, out)
	}
}
