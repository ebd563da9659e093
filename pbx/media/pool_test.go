package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPool makes a pool of n pairs on a random even range of 127.0.0.1,
// away from the ephemeral range, so parallel test binaries rarely meet.
func testPool(t *testing.T, n int) *Pool {
	t.Helper()
	low := 20000 + 2*rand.IntN(4000)
	p, err := NewPool(loopback, low, low+2*n-1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPoolErrors(t *testing.T) {
	tests := []struct {
		name      string
		addr      string
		low, high int
		want      string
	}{
		{"ipv4 wildcard", "0.0.0.0", 40000, 40999, "not a unicast"},
		{"ipv6 wildcard", "::", 40000, 40999, "not a unicast"},
		{"multicast", "239.1.1.1", 40000, 40999, "not a unicast"},
		{"reversed", "127.0.0.1", 40999, 40000, "bad RTP port range"},
		{"privileged", "127.0.0.1", 80, 40000, "bad RTP port range"},
		{"too high", "127.0.0.1", 40000, 70000, "bad RTP port range"},
		{"no pair", "127.0.0.1", 40001, 40002, "holds no even/odd pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPool(netip.MustParseAddr(tt.addr), tt.low, tt.high)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPool = %v; want error containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewPool(netip.Addr{}, 40000, 40999); err == nil {
		t.Error("NewPool accepted the zero address")
	}
}

func TestPoolAllocate(t *testing.T) {
	p := testPool(t, 3)
	if p.Size() != 3 {
		t.Fatalf("Size = %d", p.Size())
	}
	// Another process holds the first RTCP port: that pair is skipped.
	squat, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p.low + 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { squat.Close() })
	var pairs []*Pair
	for range 2 {
		pr, err := p.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close() })
		pairs = append(pairs, pr)
		if pr.Port%2 != 0 || pr.Port == p.low {
			t.Errorf("allocated port %d (low %d is taken by another socket)", pr.Port, p.low)
		}
		if got := pr.RTP.LocalAddr().String(); got != netip.AddrPortFrom(loopback, uint16(pr.Port)).String() {
			t.Errorf("RTP bound to %s", got)
		}
		if got := pr.RTCP.LocalAddr().(*net.UDPAddr).Port; got != pr.Port+1 {
			t.Errorf("RTCP port %d for RTP %d", got, pr.Port)
		}
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Allocate on a full pool = %v; want ErrExhausted", err)
	}
	if p.InUse() != 2 {
		t.Errorf("InUse = %d", p.InUse())
	}
	if err := pairs[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := pairs[0].Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	pr, err := p.Allocate()
	if err != nil {
		t.Fatalf("Allocate after a release: %v", err)
	}
	pr.Close()
}

func TestPoolBind(t *testing.T) {
	p := testPool(t, 2)
	port := p.low + 2
	pr, err := p.Bind(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	if pr.Port != port {
		t.Errorf("Bind(%d) gave %d", port, pr.Port)
	}
	for _, bad := range []int{port, port + 1, p.low - 2, p.high + 1} {
		if _, err := p.Bind(bad); err == nil {
			t.Errorf("Bind(%d) succeeded", bad)
		}
	}
	// Allocate does not hand out a pair that Bind took.
	a, err := p.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if a.Port == port {
		t.Errorf("Allocate returned the bound pair %d", port)
	}
}

// TestPoolConcurrent: concurrent Allocates and Binds never hand out a pair
// twice, and releases return every pair.
func TestPoolConcurrent(t *testing.T) {
	p := testPool(t, 64)
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 4 {
				pr, err := p.Allocate()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				t.Cleanup(func() { pr.Close() })
				if seen[pr.Port] {
					t.Errorf("pair %d handed out twice", pr.Port)
				}
				seen[pr.Port] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if p.InUse() != 32 || len(seen) != 32 {
		t.Fatalf("InUse = %d, %d distinct pairs; want 32", p.InUse(), len(seen))
	}
	// Racing Binds of one pair: exactly one wins.
	free := p.low
	for seen[free] {
		free += 2
	}
	wins := make(chan *Pair, 8)
	for range 8 {
		wg.Go(func() {
			if pr, err := p.Bind(free); err == nil {
				wins <- pr
			}
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for pr := range wins {
		n++
		pr.Close()
	}
	if n != 1 {
		t.Errorf("%d concurrent Binds of pair %d succeeded; want 1", n, free)
	}
}
