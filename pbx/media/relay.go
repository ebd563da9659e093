package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Side names a leg of the relay.
type Side int

// The two legs: A is conventionally the caller, B the callee.
const (
	A Side = 0
	B Side = 1
)

func (s Side) other() Side { return 1 - s }

func (s Side) String() string { return string("AB"[s]) }

// Options tune a relay; the zero value is usable.
type Options struct {
	// Probation is how many consecutive in-sequence RTP packets (same
	// source, same SSRC) a source that differs from the SDP address must
	// send before the leg latches to it. Default 3.
	Probation int
	// Recorder, if set, receives every relayed RTP packet (see also
	// Relay.Record).
	Recorder *Recorder
	// OnLatch, if set, is called when a leg latches onto (or moves to) a
	// source, so that the caller can journal State; it runs on the
	// packet path and must not block.
	OnLatch func()
}

// LegState is what a leg needs to resume after a restart.
type LegState struct {
	Port int // local RTP port (RTCP on Port+1)
	// SDPRTP and SDPRTCP are the peer's addresses from its SDP.
	SDPRTP  netip.AddrPort
	SDPRTCP netip.AddrPort
	// RTP and RTCP are where the leg's packets go now: the SDP addresses
	// until latched, then the sources the phone actually sends from.
	RTP         netip.AddrPort
	RTCP        netip.AddrPort
	RTPLatched  bool
	RTCPLatched bool
}

// State is the relay's resumable state, JSON-encodable for the journal.
type State struct {
	Legs [2]LegState
}

// DirStats counts packets received from one leg and relayed to the other.
type DirStats struct {
	RTPPackets  uint64
	RTPBytes    uint64
	RTCPPackets uint64
	// Dropped counts packets not relayed: from a source other than the
	// latched one, during probation, malformed, or with no peer yet.
	Dropped uint64
	LastRTP time.Time // zero until the first relayed RTP packet; restore time after RestoreRelay
}

// Stats holds DirStats per source leg: From[A] is A's traffic towards B.
type Stats struct {
	From [2]DirStats
}

// counters is the lock-free form of DirStats.
type counters struct {
	rtpPackets, rtpBytes, rtcpPackets, dropped atomic.Uint64
	lastRTP                                    atomic.Int64 // unix nanoseconds
}

// peers is an immutable snapshot of a leg's addresses, swapped atomically.
type peers struct{ LegState }

type leg struct {
	pair  *Pair
	peers atomic.Pointer[peers]
	mu    sync.Mutex // serialises changes of peers
	// probe tracks the RTP latching candidate; only the leg's RTP reader
	// touches it, under mu.
	probe struct {
		src  netip.AddrPort
		ssrc uint32
		seq  uint16
		n    int
	}
	stats counters
}

// Relay forwards RTP and RTCP between two legs. Each leg's sockets receive
// from that leg's phone; packets go out of the other leg's sockets to the
// other phone, so each phone sees the relay at the address and port the
// PBX put in its SDP.
type Relay struct {
	legs      [2]leg
	probation int
	onLatch   func()
	rec       atomic.Pointer[Recorder]
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewRelay starts relaying between two pairs. Peers are unknown until
// SetPeer; packets for a leg without a peer are dropped.
func NewRelay(a, b *Pair, o Options) *Relay {
	return startRelay(a, b, State{Legs: [2]LegState{{Port: a.Port}, {Port: b.Port}}}, o)
}

// RestoreRelay re-binds the ports recorded in st on pool and resumes
// relaying with the recorded peers and latches, so phones that keep
// sending to the same address and port are relayed again at once. Both
// directions' LastRTP start at the restore time, so an RTP timeout (a call
// whose BYE was lost while the PBX was down) counts from the restart.
func RestoreRelay(pool *Pool, st State, o Options) (*Relay, error) {
	a, err := pool.Bind(st.Legs[A].Port)
	if err != nil {
		return nil, fmt.Errorf("media: restore leg A: %w", err)
	}
	b, err := pool.Bind(st.Legs[B].Port)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("media: restore leg B: %w", err)
	}
	r := startRelay(a, b, st, o)
	now := time.Now().UnixNano()
	for i := range r.legs {
		r.legs[i].stats.lastRTP.Store(now)
	}
	return r, nil
}

func startRelay(a, b *Pair, st State, o Options) *Relay {
	if o.Probation <= 0 {
		o.Probation = 3
	}
	r := &Relay{probation: o.Probation, onLatch: o.OnLatch}
	r.rec.Store(o.Recorder)
	for i, p := range [2]*Pair{a, b} {
		l := &r.legs[i]
		l.pair = p
		s := st.Legs[i]
		s.Port = p.Port
		l.peers.Store(&peers{s})
	}
	for _, s := range [2]Side{A, B} {
		r.wg.Add(2)
		go r.forward(s, false)
		go r.forward(s, true)
	}
	return r
}

// Record starts (or, with nil, stops) passing every relayed RTP packet to
// rec: a call is recorded from its answer on. The caller closes rec, after
// Close.
func (r *Relay) Record(rec *Recorder) { r.rec.Store(rec) }

// Ports returns the local RTP ports of legs A and B.
func (r *Relay) Ports() (a, b int) { return r.legs[A].pair.Port, r.legs[B].pair.Port }

// Local is the relay's RTP address for leg s's phone: what goes into the
// SDP sent to that phone.
func (r *Relay) Local(s Side) netip.AddrPort {
	return netip.AddrPortFrom(r.legs[s].pair.pool.addr, uint16(r.legs[s].pair.Port))
}

// SetPeer sets where leg s's phone wants RTP and RTCP, from its SDP (offer,
// answer or re-INVITE); a zero rtcp means the RTP port + 1. A port of 0
// (stream disabled) stops sending to that leg. If the RTP address is
// unchanged the latches stay; otherwise the leg sends to the new address
// and latches again.
func (r *Relay) SetPeer(s Side, rtp, rtcp netip.AddrPort) {
	l := &r.legs[s]
	rtp = unmap(rtp)
	rtcp = unmap(rtcp)
	if !rtcp.IsValid() && rtp.Port() != 0 {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.peers.Load().LegState
	if st.SDPRTP == rtp && st.RTPLatched {
		st.SDPRTCP = rtcp
		l.peers.Store(&peers{st})
		return
	}
	l.probe.n = 0
	next := LegState{Port: st.Port, SDPRTP: rtp, SDPRTCP: rtcp, RTP: rtp, RTCP: rtcp}
	if rtp.Addr().IsUnspecified() {
		// RFC 2543 hold (c=0.0.0.0): send nothing. Linux would deliver
		// packets for 0.0.0.0 to the local host.
		next.RTP, next.RTCP = netip.AddrPort{}, netip.AddrPort{}
	}
	l.peers.Store(&peers{next})
}

// Latch makes leg s send to rtp and rtcp as if it had latched onto them:
// a restored call's journaled latches, set after SetPeer with the SDP
// addresses. A zero address leaves that latch as it is.
func (r *Relay) Latch(s Side, rtp, rtcp netip.AddrPort) {
	l := &r.legs[s]
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.peers.Load().LegState
	if rtp = unmap(rtp); rtp.IsValid() {
		st.RTP, st.RTPLatched = rtp, true
	}
	if rtcp = unmap(rtcp); rtcp.IsValid() {
		st.RTCP, st.RTCPLatched = rtcp, true
	}
	l.peers.Store(&peers{st})
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// State returns the relay's current resumable state.
func (r *Relay) State() State {
	return State{Legs: [2]LegState{r.legs[A].peers.Load().LegState, r.legs[B].peers.Load().LegState}}
}

// Stats returns a snapshot of the per-direction counters.
func (r *Relay) Stats() Stats {
	var st Stats
	for i := range r.legs {
		c := &r.legs[i].stats
		d := DirStats{
			RTPPackets:  c.rtpPackets.Load(),
			RTPBytes:    c.rtpBytes.Load(),
			RTCPPackets: c.rtcpPackets.Load(),
			Dropped:     c.dropped.Load(),
		}
		if ns := c.lastRTP.Load(); ns != 0 {
			d.LastRTP = time.Unix(0, ns)
		}
		st.From[i] = d
	}
	return st
}

// Close stops relaying, waits for the readers and releases both pairs.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		err = errors.Join(r.legs[A].pair.Close(), r.legs[B].pair.Close())
		r.wg.Wait()
	})
	return err
}

// maxPacket bounds a datagram; RTP over UDP on Ethernet stays far below.
const maxPacket = 2048

// forward relays leg s's RTP (or RTCP) socket to the other leg's peer
// until the socket is closed.
func (r *Relay) forward(s Side, rtcp bool) {
	defer r.wg.Done()
	in, out := &r.legs[s], &r.legs[s.other()]
	from, via := in.pair.RTP, out.pair.RTP
	if rtcp {
		from, via = in.pair.RTCP, out.pair.RTCP
	}
	var buf [maxPacket]byte
	for {
		n, src, err := from.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP port unreachable from a peer and the like
		}
		pkt, src := buf[:n], unmap(src)
		var dst netip.AddrPort
		var ok bool
		before := in.peers.Load()
		if rtcp {
			dst, ok = out.peers.Load().RTCP, in.acceptRTCP(src, pkt)
		} else {
			dst, ok = out.peers.Load().RTP, in.acceptRTP(src, pkt, r.probation)
		}
		if r.onLatch != nil && in.peers.Load() != before {
			r.onLatch()
		}
		if ok = ok && dst.IsValid() && dst.Port() != 0; ok {
			_, err = via.WriteToUDPAddrPort(pkt, dst)
			ok = err == nil
		}
		switch {
		case !ok:
			in.stats.dropped.Add(1)
		case rtcp:
			in.stats.rtcpPackets.Add(1)
		default:
			in.stats.rtpPackets.Add(1)
			in.stats.rtpBytes.Add(uint64(n))
			in.stats.lastRTP.Store(time.Now().UnixNano())
			if rec := r.rec.Load(); rec != nil {
				rec.WriteRTP(s, pkt)
			}
		}
	}
}

// acceptRTP decides whether an RTP packet from src may be relayed, and
// latches the leg's RTP destination to src when it earns it: at once when
// src has the SDP's IP address (no NAT in the way), else after probation
// consecutive in-sequence packets from one source and SSRC. Once latched,
// only the latched source is accepted until SetPeer changes the SDP
// address, except that a source with exactly the SDP's address takes over
// a latch that probation gave to another IP. This closes the "RTP bleed" hole where any
// first sender could capture a call's media; for a phone behind NAT (SDP
// address unreachable) a stranger who sprays in-sequence packets before
// the phone's first one can still win, as with every symmetric-RTP relay.
func (l *leg) acceptRTP(src netip.AddrPort, pkt []byte, probation int) bool {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return false
	}
	if p := l.peers.Load(); p.RTPLatched && !p.relatch(src) {
		return src == p.RTP
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	seq := binary.BigEndian.Uint16(pkt[2:4])
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.peers.Load().LegState
	if st.RTPLatched && !st.relatch(src) {
		return src == st.RTP
	}
	if st.SDPRTP.Addr().IsUnspecified() {
		return false // on hold: nothing to latch to until the resume
	}
	pr := &l.probe
	if src.Addr() != st.SDPRTP.Addr() {
		if pr.n > 0 && pr.src == src && pr.ssrc == ssrc && seq == pr.seq+1 {
			pr.n++
		} else {
			pr.src, pr.ssrc, pr.n = src, ssrc, 1
		}
		pr.seq = seq
		if pr.n < probation {
			return false
		}
	}
	st.RTP, st.RTPLatched = src, true
	l.peers.Store(&peers{st})
	return true
}

// relatch reports whether src may take over a latch made by probation: it
// is exactly the SDP's address and the latched source does not even have
// its IP. The address the phone signalled wins over a stranger that
// sprayed packets before it spoke.
func (s *LegState) relatch(src netip.AddrPort) bool {
	return src == s.SDPRTP && s.RTP.Addr() != s.SDPRTP.Addr()
}

// acceptRTCP latches the RTCP destination to the first RTCP source whose
// IP is the leg's RTP peer's (latched or from SDP); NATs keep the IP and
// pick their own port.
func (l *leg) acceptRTCP(src netip.AddrPort, pkt []byte) bool {
	if len(pkt) < 8 || pkt[0]>>6 != 2 {
		return false
	}
	if p := l.peers.Load(); p.RTCPLatched {
		return src == p.RTCP
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.peers.Load().LegState
	if st.RTCPLatched {
		return src == st.RTCP
	}
	if src.Addr() != st.RTP.Addr() && src.Addr() != st.SDPRTP.Addr() {
		return false
	}
	st.RTCP, st.RTCPLatched = src, true
	l.peers.Store(&peers{st})
	return true
}
