package drbdvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pbxha/internal/testenv"
)

// Cluster is two booted guests on one bridge.
type Cluster struct {
	A, B *Guest
	net  *network
}

// Guests returns A and B.
func (c *Cluster) Guests() []*Guest { return []*Guest{c.A, c.B} }

// nodes are the guests' fixed identities; their addresses are in the
// 198.18.0.0/15 benchmarking range, reachable only inside the namespace.
var nodes = []struct{ name, ip, mac, tap string }{
	{"node-a", "198.18.10.1", "52:54:00:12:10:01", "dvmtap0"},
	{"node-b", "198.18.10.2", "52:54:00:12:10:02", "dvmtap1"},
}

// Tools the harness runs on the host.
var hostTools = []string{"qemu-system-x86_64", "ip", "apt-get", "apt-cache", "dpkg", "busybox", "ldd", "go", "drbdadm"}

var (
	imageOnce sync.Once
	imageData []byte
	imageKern kernel
	imageErr  error
)

// guestImage fetches the kernel and builds the initramfs once per process.
func guestImage() (kernel, []byte, error) {
	imageOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			imageErr = err
			return
		}
		cache := os.Getenv("PBXHA_DRBDVM_CACHE")
		if cache == "" {
			cache = filepath.Join(root, "test", "drbdvm", "cache")
		}
		if imageKern, imageErr = fetchKernel(cache); imageErr != nil {
			return
		}
		bin, err := os.MkdirTemp("", "drbdvm-bin-")
		if err != nil {
			imageErr = fmt.Errorf("guest binaries: %w", err)
			return
		}
		defer os.RemoveAll(bin)
		if imageErr = buildProjectBinaries(bin); imageErr != nil {
			return
		}
		imageData, imageErr = buildInitramfs(imageKern, bin)
	})
	return imageKern, imageData, imageErr
}

// Boot starts two guests (node-a, node-b) and registers their teardown
// (qemu by PID, namespace with bridge and taps, temp dir) with t.Cleanup.
// It skips or fails like the other root-only tests when not root or when a
// tool is missing.
func Boot(t testing.TB) *Cluster {
	t.Helper()
	testenv.Slow(t)
	testenv.RequireRoot(t)
	testenv.RequireTool(t, hostTools...)
	k, initrd, err := guestImage()
	if err != nil {
		t.Fatalf("guest image: %v", err)
	}
	dir, err := os.MkdirTemp("", "drbdvm-") // short: holds unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	initrdPath := filepath.Join(dir, "initrd.cpio")
	if err := os.WriteFile(initrdPath, initrd, 0o644); err != nil {
		t.Fatal(err)
	}
	taps := make([]string, len(nodes))
	for i, n := range nodes {
		taps[i] = n.tap
	}
	nw, err := newNetwork(taps)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{net: nw}
	t.Cleanup(func() {
		if err := nw.close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	guests := make([]*Guest, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	start := time.Now()
	for i, n := range nodes {
		gdir := filepath.Join(dir, n.name)
		if err := os.Mkdir(gdir, 0o755); err != nil {
			t.Fatal(err)
		}
		spec := guestSpec{index: i, name: n.name, ip: n.ip, mac: n.mac, tap: n.tap, netns: nw.ns,
			kernel: k.Vmlinuz, initrd: initrdPath, dir: gdir}
		wg.Add(1)
		go func() {
			defer wg.Done()
			guests[i], errs[i] = startGuest(spec)
		}()
	}
	wg.Wait()
	for _, g := range guests {
		if g == nil {
			continue
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("console of %s (last 3000 bytes):\n%s", g.Name, tail(g.ConsoleLog(), 3000))
			}
			if err := g.stop(); err != nil {
				t.Errorf("teardown: %v", err)
			}
		})
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.A, c.B = guests[0], guests[1]
	t.Logf("booted %s and %s in %v (kernel %s)", c.A.Name, c.B.Name, time.Since(start).Round(time.Millisecond), k.Package)
	return c
}

// SetLink connects (up) or disconnects (down) g's NIC from the bridge.
func (c *Cluster) SetLink(t testing.TB, g *Guest, up bool) {
	t.Helper()
	if err := c.net.setLink(g.tap, up); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// Sh runs script in g and fails t unless it exits 0; it returns stdout.
func (g *Guest) Sh(t testing.TB, script string) string {
	t.Helper()
	res := g.Exec(t, script)
	if res.Status != 0 {
		t.Fatalf("%s: %q: status %d\nstdout: %s\nstderr: %s", g.Name, script, res.Status, res.Stdout, strings.TrimSpace(res.Stderr))
	}
	return res.Stdout
}

// Exec runs script in g with a 2-minute limit and fails t only when the
// channel fails; the script's own status is in the result.
func (g *Guest) Exec(t testing.TB, script string) Result {
	t.Helper()
	res, err := g.Run(script, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
