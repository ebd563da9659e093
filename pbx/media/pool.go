// Package media is the PBX's RTP relay: a pool of RTP/RTCP port pairs on
// one address (the VIP, never a wildcard), a two-leg Relay that forwards
// each leg's packets out of the other leg's sockets with symmetric-RTP
// latching, per-direction statistics for RTP timeouts, a State that the
// dialog journal stores so a restarted PBX re-binds the same ports and
// peers, and an optional G.711 stereo WAV Recorder that appends across
// restarts.
//
//	pool, _ := media.NewPool(vip, 40000, 40999)
//	a, _ := pool.Allocate()              // leg A pair: a.Port (even) RTP, a.Port+1 RTCP
//	b, _ := pool.Allocate()
//	rec, _ := media.OpenRecorder(path, time.Now())   // optional
//	r := media.NewRelay(a, b, media.Options{Recorder: rec})
//	r.Local(media.A)                     // the address for leg A's SDP (sdp.SetAudioEndpoint)
//	r.SetPeer(media.A, rtpA, rtcpA)      // from leg A's SDP; latched to the real source
//	st := r.State()                      // journal it (JSON) with rec.Start(); after a failover:
//	rec, _ = media.OpenRecorder(path, start)         // appends on the same timeline
//	r, _ = media.RestoreRelay(pool, st, media.Options{Recorder: rec})
//	r.Stats().From[media.A].LastRTP     // RTP timeout (zero until a packet; restore time after a restore)
//	r.Close(); rec.Close()               // the relay releases its pairs, not the recorder
//
// Latching: a leg sends to its phone's SDP address until packets arrive;
// a source with the SDP's IP is latched at once, any other only after a
// few in-sequence packets (Options.Probation), and a latch holds until
// SetPeer changes the SDP address. See acceptRTP for the hijack rules.
package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// ErrExhausted is returned by Allocate when every pair is in use.
var ErrExhausted = errors.New("media: no free RTP port pair")

// Pool hands out RTP/RTCP port pairs (even RTP port, RTP+1 for RTCP) on one
// unicast address within [low, high].
type Pool struct {
	addr      netip.Addr
	low, high int

	mu   sync.Mutex
	used map[int]bool
	next int // where the next Allocate starts looking, so freed ports rest a while
}

// NewPool makes a pool for addr and the port range low-high. addr must be
// a specific address (the VIP): media must leave from the address phones
// talk to, and a wildcard would hide a missing VIP.
func NewPool(addr netip.Addr, low, high int) (*Pool, error) {
	switch {
	case !addr.IsValid() || addr.IsUnspecified() || addr.IsMulticast():
		return nil, fmt.Errorf("media: pool address %v is not a unicast address", addr)
	case low < 1024 || high > 65535 || high <= low:
		return nil, fmt.Errorf("media: bad RTP port range %d-%d (want 1024 <= low < high <= 65535)", low, high)
	}
	if low%2 == 1 {
		low++
	}
	if high-low < 1 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even/odd pair", low, high)
	}
	return &Pool{addr: addr.Unmap(), low: low, high: high, used: map[int]bool{}, next: low}, nil
}

// Addr is the address every pair is bound to.
func (p *Pool) Addr() netip.Addr { return p.addr }

// Size is the number of pairs in the range.
func (p *Pool) Size() int { return (p.high - p.low + 1) / 2 }

// InUse is the number of pairs currently handed out.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// Pair is a bound RTP socket on an even port and its RTCP socket on the
// next port.
type Pair struct {
	Port int // RTP port; RTCP is Port+1
	RTP  *net.UDPConn
	RTCP *net.UDPConn
	pool *Pool
	once sync.Once
}

// Close closes both sockets and returns the ports to the pool.
func (pr *Pair) Close() error {
	var err error
	pr.once.Do(func() {
		err = errors.Join(pr.RTP.Close(), pr.RTCP.Close())
		pr.pool.mu.Lock()
		delete(pr.pool.used, pr.Port)
		pr.pool.mu.Unlock()
	})
	return err
}

// Allocate binds the next free pair, skipping ports another process holds.
// The sockets are opened outside the pool's lock, so concurrent call
// setups (and recoveries) bind in parallel.
func (p *Pool) Allocate() (*Pair, error) {
	for range p.Size() {
		port, ok := p.reserveNext()
		if !ok {
			break
		}
		pr, err := p.bind(port)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		return pr, err
	}
	return nil, ErrExhausted
}

// reserveNext marks the next pair not in use as taken.
func (p *Pool) reserveNext() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.Size() {
		port := p.next
		p.next += 2
		if p.next+1 > p.high {
			p.next = p.low
		}
		if !p.used[port] {
			p.used[port] = true
			return port, true
		}
	}
	return 0, false
}

// Bind binds exactly the pair at port (even), as journal recovery does to
// take back the ports of a call that was up before a restart.
func (p *Pool) Bind(port int) (*Pair, error) {
	if port < p.low || port+1 > p.high || port%2 != 0 {
		return nil, fmt.Errorf("media: port %d is not an even RTP port in %d-%d", port, p.low, p.high)
	}
	p.mu.Lock()
	if p.used[port] {
		p.mu.Unlock()
		return nil, fmt.Errorf("media: port pair %d/%d already in use by this pool", port, port+1)
	}
	p.used[port] = true
	p.mu.Unlock()
	return p.bind(port)
}

// bind opens both sockets of the reserved pair at port, or releases the
// reservation.
func (p *Pool) bind(port int) (*Pair, error) {
	rtp, err := p.listen(port)
	if err == nil {
		var rtcp *net.UDPConn
		if rtcp, err = p.listen(port + 1); err == nil {
			return &Pair{Port: port, RTP: rtp, RTCP: rtcp, pool: p}, nil
		}
		rtp.Close()
	}
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
	return nil, err
}

// listen binds one UDP socket with DSCP EF (46), the marking for voice.
func (p *Pool) listen(port int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if p.addr.Is4() {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, 0xb8)
			} else {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS, 0xb8)
			}
		})
		return errors.Join(err, serr)
	}}
	network := "udp4"
	if p.addr.Is6() {
		network = "udp6"
	}
	c, err := lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(p.addr, uint16(port)).String())
	if err != nil {
		return nil, fmt.Errorf("media: bind %s: %w", netip.AddrPortFrom(p.addr, uint16(port)), err)
	}
	return c.(*net.UDPConn), nil
}
