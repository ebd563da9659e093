// Package netnstest builds throwaway network namespaces for tests: two
// "hosts" joined by a veth pair, with addresses from 198.18.0.0/15 (and
// 2001:db8::/32), removed when the test ends even if it fails.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Host is one end of a Pair.
type Host struct {
	NS   string // namespace name (ip netns)
	Link string // its veth interface
}

var seq atomic.Int32

// Pair creates namespaces "<prefix>a" and "<prefix>c" (a: the agent's node,
// c: a client) joined by veth interfaces "va" and "vc", both up, with the
// given addresses ("198.18.1.1/24", "2001:db8:18::1/64"; IPv6 ones are added
// nodad so they are usable at once).
func Pair(t testing.TB, aAddrs, cAddrs []string) (a, c Host) {
	t.Helper()
	prefix := fmt.Sprintf("pbxha-t%d-%d", os.Getpid()%100000, seq.Add(1))
	a, c = Host{prefix + "a", "va"}, Host{prefix + "c", "vc"}
	for _, h := range []Host{a, c} {
		run(t, "ip", "netns", "add", h.NS)
		ns := h.NS
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", h.NS, "link", "set", "lo", "up")
		// Links created later skip IPv6 DAD: a fresh link would otherwise
		// spend its first second or so tentative, ignoring advertisements.
		for _, k := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"} {
			run(t, "ip", "netns", "exec", h.NS, "sysctl", "-q", "-w", k)
		}
	}
	run(t, "ip", "link", "add", "va", "netns", a.NS, "type", "veth", "peer", "name", "vc", "netns", c.NS)
	for h, addrs := range map[Host][]string{a: aAddrs, c: cAddrs} {
		for _, ad := range addrs {
			args := []string{"-n", h.NS, "addr", "add", ad, "dev", h.Link}
			if strings.Contains(ad, ":") {
				args = append(args, "nodad")
			}
			run(t, "ip", args...)
		}
		run(t, "ip", "-n", h.NS, "link", "set", h.Link, "up")
	}
	// The kernel applies a carrier change (operstate, qdisc, neighbour
	// events) from its linkwatch work, up to a second later; until then
	// packets can be dropped or ignored.
	for _, h := range []Host{a, c} {
		deadline := time.Now().Add(5 * time.Second)
		for strings.TrimSpace(h.Run(t, "cat", "/sys/class/net/"+h.Link+"/operstate")) != "up" {
			if time.Now().After(deadline) {
				t.Fatalf("%s in %s: operstate not up after 5 s", h.Link, h.NS)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return a, c
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Cmd returns a command that runs in h's namespace.
func (h Host) Cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command in h's namespace and fails the test on error.
func (h Host) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := h.Cmd(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", h.NS, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs fn with the calling goroutine's thread in h's namespace, so
// netlink calls, sockets and child processes started by fn live there.
func (h Host) Do(t testing.TB, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("current netns: %v", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(h.NS)
	if err != nil {
		t.Fatalf("netns %s: %v", h.NS, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		t.Fatalf("enter %s: %v", h.NS, err)
	}
	defer func() {
		// A thread that cannot return stays locked and dies with the goroutine.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	fn()
}
