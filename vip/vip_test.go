package vip

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"pbxha/internal/netnstest"
	"pbxha/internal/testenv"
)

var (
	vip4 = netip.MustParseAddr("198.18.1.50")
	vip6 = netip.MustParseAddr("2001:db8:18::50")
)

func pair(t *testing.T) (a, c netnstest.Host) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	return netnstest.Pair(t, []string{"198.18.1.1/24", "2001:db8:18::1/64"}, []string{"198.18.1.2/24", "2001:db8:18::2/64"})
}

func TestAddressLifecycle(t *testing.T) {
	a, _ := pair(t)
	for _, ip := range []netip.Addr{vip4, vip6} {
		a.Do(t, func() {
			r, err := FindRoute(ip)
			if err != nil || r.Link != "va" {
				t.Fatalf("FindRoute(%s) = %+v, %v", ip, r, err)
			}
			l, err := LookupLink(r.Link)
			if err != nil || l.Usable() != nil {
				t.Fatalf("link %+v: %v / %v", l, err, l.Usable())
			}
			p := netip.PrefixFrom(ip, r.Bits)
			if err := l.Add(p, "", true); err != nil {
				t.Fatal(err)
			}
			if err := l.Add(p, "", true); err != nil {
				t.Fatalf("second add must be a no-op: %v", err)
			}
			holder, st, err := Locate(ip)
			if err != nil || holder == nil || holder.Name != "va" || st != Present {
				t.Fatalf("Locate(%s) after add = %v %v %v (IPv6 must not be tentative)", ip, holder, st, err)
			}
			if removed, err := Remove(ip); !removed || err != nil {
				t.Fatalf("Remove = %v %v", removed, err)
			}
			if removed, err := Remove(ip); removed || err != nil {
				t.Fatalf("second Remove = %v %v, want false nil", removed, err)
			}
			if _, st, _ := Locate(ip); st != Absent {
				t.Fatalf("after remove: %v", st)
			}
		})
	}
	a.Do(t, func() {
		if _, err := LookupLink("nosuch0"); err == nil || !strings.Contains(err.Error(), "no such interface") {
			t.Errorf("LookupLink(nosuch0) = %v", err)
		}
		if _, err := FindRoute(netip.MustParseAddr("198.19.9.9")); err == nil {
			t.Error("FindRoute found a route for an address outside every connected prefix")
		}
	})
}

// neighbour returns the client's neighbour-table MAC for ip.
func neighbour(t *testing.T, c netnstest.Host, ip netip.Addr) string {
	out, err := c.Cmd("ip", "neigh", "show", ip.String(), "dev", c.Link).CombinedOutput()
	if err != nil {
		t.Fatalf("ip neigh: %v %s", err, out)
	}
	f := strings.Fields(string(out))
	for i := range f {
		if f[i] == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// TestAnnouncementFixesStaleNeighbour is the failover case: the client's
// neighbour entry for the VIP still points at the dead node's MAC; one
// announcement round must repoint it.
func TestAnnouncementFixesStaleNeighbour(t *testing.T) {
	a, c := pair(t)
	const wrong = "02:00:00:00:00:99"
	for _, ip := range []netip.Addr{vip4, vip6} {
		c.Run(t, "ip", "neigh", "replace", ip.String(), "lladdr", wrong, "dev", c.Link, "nud", "stale")
		if got := neighbour(t, c, ip); got != wrong {
			t.Fatalf("setup: neighbour %s = %q", ip, got)
		}
		var mac string
		a.Do(t, func() {
			l, err := LookupLink("va")
			if err != nil {
				t.Fatal(err)
			}
			mac = l.MAC.String()
			bits := 24
			if ip.Is6() {
				bits = 64
			}
			if err := l.Add(netip.PrefixFrom(ip, bits), "", true); err != nil {
				t.Fatal(err)
			}
			an, err := NewAnnouncer(l, ip)
			if err != nil {
				t.Fatal(err)
			}
			defer an.Close()
			if err := an.Announce(); err != nil {
				t.Fatal(err)
			}
		})
		deadline := time.Now().Add(100 * time.Millisecond)
		for neighbour(t, c, ip) != mac && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := neighbour(t, c, ip); got != mac {
			t.Errorf("%s: client's neighbour entry is %q 100 ms after one announcement, want %s", ip, got, mac)
		}
	}
}

func TestProbeOwner(t *testing.T) {
	a, c := pair(t)
	for _, ip := range []netip.Addr{vip4, vip6} {
		probe := func() string {
			var got string
			a.Do(t, func() {
				l, err := LookupLink("va")
				if err != nil {
					t.Fatal(err)
				}
				mac, err := ProbeOwner(context.Background(), l, ip, 200*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				got = mac.String()
			})
			return got
		}
		if got := probe(); got != "" {
			t.Fatalf("%s: nobody holds it, yet %s answered", ip, got)
		}
		bits := "/24"
		if ip.Is6() {
			bits = "/64"
		}
		c.Run(t, "ip", "addr", "add", ip.String()+bits, "dev", c.Link, "nodad")
		want := strings.Fields(c.Run(t, "cat", "/sys/class/net/vc/address"))[0]
		if got := probe(); got != want {
			t.Errorf("%s held by the client (%s): probe found %q", ip, want, got)
		}
	}
}
