package vip

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pbxha/internal/netnstest"
	"pbxha/internal/testenv"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/ocf/ocftest"
)

func TestMetadata(t *testing.T) { ocftest.CheckMetadata(t, Agent.WriteMetadata) }

type harness struct {
	t        *testing.T
	a, c     netnstest.Host
	ocfRoot  string
	agent    string
	stateDir string
}

func newHarness(t *testing.T) *harness {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip", "ping")
	a, c := netnstest.Pair(t, []string{"198.18.1.1/24", "2001:db8:18::1/64"}, []string{"198.18.1.2/24", "2001:db8:18::2/64"})
	root, agent := ocftest.BuildAgent(t, "vip")
	return &harness{t: t, a: a, c: c, ocfRoot: root, agent: agent, stateDir: t.TempDir()}
}

// expect runs an action in node a's namespace.
func (h *harness) expect(action string, params map[string]string, want ocf.Status, reason string) string {
	h.t.Helper()
	base := map[string]string{"OCF_RESOURCE_INSTANCE": "vip1", "HA_RSCTMP": h.stateDir}
	return ocftest.Expect(h.t, h.ocfRoot, h.agent, action, base, params, int(want), reason, "ip", "netns", "exec", h.a.NS)
}

func TestValidateAll(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		params map[string]string
		want   ocf.Status
		reason string
	}{
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50"}, ocf.Success, ""},
		{map[string]string{"OCF_RESKEY_ip": "2001:db8:18::50", "OCF_RESKEY_nic": "va", "OCF_RESKEY_cidr_netmask": "64"}, ocf.Success, ""},
		{nil, ocf.ErrConfigured, "ocf-exit-reason:parameter ip is required"},
		{map[string]string{"OCF_RESKEY_ip": "10.0.0.300"}, ocf.ErrConfigured, `ocf-exit-reason:parameter ip: "10.0.0.300" is not an IPv4 or IPv6 address`},
		{map[string]string{"OCF_RESKEY_ip": "ff02::1"}, ocf.ErrConfigured, "cannot be a virtual IP"},
		{map[string]string{"OCF_RESKEY_ip": "::ffff:198.18.1.50"}, ocf.ErrConfigured, "write the IPv4 address as 198.18.1.50"},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_cidr_netmask": "33"}, ocf.ErrConfigured, "parameter cidr_netmask: 33 is not an IPv4 prefix length (1-32)"},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_cidr_netmask": "255.255.255.0"}, ocf.ErrConfigured, `parameter cidr_netmask: "255.255.255.0" is not an integer`},
		{map[string]string{"OCF_RESKEY_ip": "2001:db8:18::50", "OCF_RESKEY_label": "x"}, ocf.ErrConfigured, "parameter label: IPv6 addresses have no labels"},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_label": "averylonglabel"}, ocf.ErrConfigured, `parameter label: "va:averylonglabel" is longer than 15 characters`},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_nic": "eth0:1"}, ocf.ErrConfigured, "IPaddr2's nic:alias form is not supported"},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_arp_count": "-1"}, ocf.ErrConfigured, "parameter arp_count: -1 is below the minimum 0"},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_nodad": "maybe"}, ocf.ErrConfigured, `parameter nodad: "maybe" is not a boolean`},
		{map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_nic": "eth9"}, ocf.ErrArgs, "ocf-exit-reason:parameter nic: interface eth9: no such interface"},
		{map[string]string{"OCF_RESKEY_ip": "198.19.9.9"}, ocf.ErrArgs, "cannot place 198.19.9.9 on this host: no connected route contains 198.19.9.9: set nic and cidr_netmask"},
	}
	for _, c := range cases {
		h.expect("validate-all", c.params, c.want, c.reason)
	}
}

func pidAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestLifecycleIPv4(t *testing.T) {
	h := newHarness(t)
	p := map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_label": "pbx", "OCF_RESKEY_arp_count": "50", "OCF_RESKEY_arp_interval": "100"}
	probe := map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_CRM_meta_interval": "0"}
	h.expect("monitor", probe, ocf.NotRunning, "")
	h.expect("start", p, ocf.Success, "added 198.18.1.50/24 to va")
	if out := h.a.Run(t, "ip", "-4", "addr", "show", "dev", "va"); !strings.Contains(out, "198.18.1.50/24 brd 198.18.1.255 scope global secondary va:pbx") {
		t.Fatalf("address not configured with broadcast and label:\n%s", out)
	}
	pidfile := filepath.Join(h.stateDir, "pbxha-vip-vip1.announce.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("no announcer pidfile after start with arp_count=50: %v", err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	if !pidAlive(pid) {
		t.Fatalf("announcer %d not running", pid)
	}
	h.c.Run(t, "ping", "-c", "1", "-W", "2", "198.18.1.50")
	h.expect("start", p, ocf.Success, "") // idempotent
	h.expect("monitor", probe, ocf.Success, "")
	h.expect("monitor", map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_CHECK_LEVEL": "10", "OCF_RESKEY_CRM_meta_interval": "60000"}, ocf.Success, "")

	// The peer's end going down takes the carrier away: the address is
	// configured but unreachable, which must not pass for running.
	h.c.Run(t, "ip", "link", "set", h.c.Link, "down")
	h.expect("monitor", p, ocf.ErrGeneric, "ocf-exit-reason:198.18.1.50 is configured but unreachable: interface va has no carrier")
	h.c.Run(t, "ip", "link", "set", h.c.Link, "up")

	h.expect("stop", p, ocf.Success, "removed 198.18.1.50")
	deadline := time.Now().Add(2 * time.Second)
	for pidAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pidAlive(pid) {
		t.Errorf("announcer %d still running after stop", pid)
	}
	h.expect("stop", p, ocf.Success, "")
	h.expect("monitor", p, ocf.NotRunning, "")

	// Another host answering for the address is caught by depth 10.
	h.expect("start", p, ocf.Success, "")
	h.c.Run(t, "ip", "addr", "add", "198.18.1.50/24", "dev", h.c.Link)
	h.expect("monitor", map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_CHECK_LEVEL": "10"}, ocf.ErrGeneric, "ocf-exit-reason:duplicate owner: ")
	h.expect("stop", p, ocf.Success, "")
}

func TestLifecycleIPv6(t *testing.T) {
	h := newHarness(t)
	p := map[string]string{"OCF_RESKEY_ip": "2001:db8:18::50"}
	h.expect("start", p, ocf.Success, "added 2001:db8:18::50/64 to va")
	// Usable at once: not tentative, and it answers.
	if out := h.a.Run(t, "ip", "-6", "addr", "show", "dev", "va"); !strings.Contains(out, "2001:db8:18::50/64") || strings.Contains(out, "tentative") {
		t.Fatalf("address missing or tentative right after start:\n%s", out)
	}
	h.c.Run(t, "ping", "-6", "-c", "1", "-W", "2", "2001:db8:18::50")
	h.expect("monitor", map[string]string{"OCF_RESKEY_ip": "2001:db8:18::50", "OCF_CHECK_LEVEL": "10"}, ocf.Success, "")
	h.expect("stop", p, ocf.Success, "removed 2001:db8:18::50")

	// Someone else holds it: start's probe refuses to take it over.
	h.c.Run(t, "ip", "addr", "add", "2001:db8:18::50/64", "dev", h.c.Link, "nodad")
	h.expect("start", p, ocf.ErrGeneric, "ocf-exit-reason:2001:db8:18::50 is already in use on va by ")
	h.expect("monitor", p, ocf.NotRunning, "")
}

// TestOCFTester runs ClusterLabs' own conformance checker on the agent.
func TestOCFTester(t *testing.T) {
	testenv.RequireTool(t, "ocf-tester")
	h := newHarness(t)
	for _, ip := range []string{"198.18.1.50", "2001:db8:18::50"} {
		cmd := h.a.Cmd("ocf-tester", "-n", "vip1", "-o", "ip="+ip, h.agent)
		cmd.Env = append(os.Environ(), "OCF_ROOT="+h.ocfRoot, "HA_RSCTMP="+h.stateDir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "passed all tests") {
			t.Errorf("ocf-tester ip=%s: %v\n%s", ip, err, out)
		}
	}
}
