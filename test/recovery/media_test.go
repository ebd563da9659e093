package recovery

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// echoPhone is the called phones' media: one UDP socket that every call's
// callee SDP points at. It sends each RTP packet back where it came from
// (the relay's callee-leg port of that call) and keeps each stream's
// arrival times, so a test sees per call when relaying stopped and resumed.
type echoPhone struct {
	conn *net.UDPConn
	mu   sync.Mutex
	seen map[netip.AddrPort][]time.Time
	done chan struct{}
}

func newEchoPhone(t *testing.T) *echoPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoPhone{conn: c, seen: map[netip.AddrPort][]time.Time{}, done: make(chan struct{})}
	go e.run()
	t.Cleanup(func() {
		c.Close()
		<-e.done
	})
	return e
}

func (e *echoPhone) port() int { return e.conn.LocalAddr().(*net.UDPAddr).Port }

func (e *echoPhone) run() {
	defer close(e.done)
	buf := make([]byte, 2048)
	for {
		n, src, err := e.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n < 12 {
			continue
		}
		now := time.Now()
		e.mu.Lock()
		e.seen[src] = append(e.seen[src], now)
		e.mu.Unlock()
		_, _ = e.conn.WriteToUDPAddrPort(buf[:n], src)
	}
}

// streamGap is one call's media as the called phone got it across a
// restart.
type streamGap struct {
	src   netip.AddrPort
	gap   time.Duration // longest silence ending within the 2 s after the kill
	after int           // packets after the kill
}

// gaps reports, per stream, the outage the kill caused: the longest
// silence between packets that ends within 2 s after killed (a packet the
// dying process relayed just after the kill signal was sent does not hide
// the outage that follows it).
func (e *echoPhone) gaps(killed time.Time) []streamGap {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []streamGap
	for src, ts := range e.seen {
		g := streamGap{src: src}
		i, _ := slices.BinarySearchFunc(ts, killed, time.Time.Compare)
		g.after = len(ts) - i
		for i = max(i, 1); i < len(ts) && ts[i].Sub(killed) <= 2*time.Second; i++ {
			g.gap = max(g.gap, ts[i].Sub(ts[i-1]))
		}
		out = append(out, g)
	}
	return out
}
