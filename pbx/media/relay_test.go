package media

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// phone is a UDP endpoint standing in for a SIP phone's RTP or RTCP socket.
type phone struct {
	t     testing.TB
	conn  *net.UDPConn
	relay netip.Addr // the relay's address, of the phone's family
	seq   uint16
	ssrc  uint32
}

func newPhone(t testing.TB, ip string) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	relay := loopback
	if netip.MustParseAddr(ip).Is6() {
		relay = netip.IPv6Loopback()
	}
	return &phone{t: t, conn: c, relay: relay, ssrc: 0x1234}
}

func (p *phone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// rtp builds a 172-byte PCMU packet with the next sequence number.
func (p *phone) rtp(fill byte) []byte {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	p.seq++
	binary.BigEndian.PutUint16(pkt[2:], p.seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(p.seq)*160)
	binary.BigEndian.PutUint32(pkt[8:], p.ssrc)
	for i := 12; i < len(pkt); i++ {
		pkt[i] = fill
	}
	return pkt
}

func (p *phone) send(to int, pkt []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(p.relay, uint16(to))); err != nil {
		p.t.Fatal(err)
	}
}

// recv waits up to d for a packet; ok is false on timeout.
func (p *phone) recv(d time.Duration) (pkt []byte, from netip.AddrPort, ok bool) {
	p.t.Helper()
	buf := make([]byte, 2048)
	if err := p.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		p.t.Fatal(err)
	}
	n, from, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, netip.AddrPort{}, false
	}
	return buf[:n], from, true
}

func (p *phone) expect(fromPort int, want []byte) {
	p.t.Helper()
	got, from, ok := p.recv(2 * time.Second)
	if !ok {
		p.t.Fatalf("%s: no packet within 2s", p.addr())
	}
	if int(from.Port()) != fromPort || string(got) != string(want) {
		p.t.Fatalf("%s: got %d bytes from %s; want %d bytes from port %d", p.addr(), len(got), from, len(want), fromPort)
	}
}

func (p *phone) expectNothing() {
	p.t.Helper()
	if pkt, from, ok := p.recv(150 * time.Millisecond); ok {
		p.t.Fatalf("%s: unexpected %d bytes from %s", p.addr(), len(pkt), from)
	}
}

// allocatePairs allocates leg A's and leg B's pairs.
func allocatePairs(t testing.TB, p *Pool) (a, b *Pair) {
	t.Helper()
	a, err := p.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if b, err = p.Allocate(); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// call sets up a relay between two phones whose SDP says exactly where
// they are (same IP as their source: latched on the first packet).
type call struct {
	relay          *Relay
	a, b           *phone // RTP
	aRTCP, bRTCP   *phone
	portA, portB   int
	pool           *Pool
	aSDP, aSDPRTCP netip.AddrPort
}

func newCall(t *testing.T, o Options) *call {
	t.Helper()
	c := &call{pool: testPool(t, 4)}
	pa, pb := allocatePairs(t, c.pool)
	c.relay = NewRelay(pa, pb, o)
	t.Cleanup(func() { c.relay.Close() })
	c.portA, c.portB = c.relay.Ports()
	c.a, c.b = newPhone(t, "127.0.0.1"), newPhone(t, "127.0.0.1")
	c.aRTCP, c.bRTCP = newPhone(t, "127.0.0.1"), newPhone(t, "127.0.0.1")
	c.aSDP, c.aSDPRTCP = c.a.addr(), c.aRTCP.addr()
	c.relay.SetPeer(A, c.aSDP, c.aSDPRTCP)
	c.relay.SetPeer(B, c.b.addr(), c.bRTCP.addr())
	return c
}

// talk sends one RTP packet from a (leg A's phone as the relay sees it) to
// B and one back, and checks both arrive from the relay's ports.
func (c *call) talk(a *phone) {
	p := a.rtp(1)
	a.send(c.portA, p)
	c.b.expect(c.portB, p)
	pb := c.b.rtp(2)
	c.b.send(c.portB, pb)
	a.expect(c.portA, pb)
}

func TestRelayForwardsBothWays(t *testing.T) {
	c := newCall(t, Options{})
	c.talk(c.a)

	sr := []byte{0x80, 200, 0, 6, 0, 0, 0x12, 0x34, 1, 2, 3, 4}
	c.aRTCP.send(c.portA+1, sr)
	c.bRTCP.expect(c.portB+1, sr)
	c.bRTCP.send(c.portB+1, sr)
	c.aRTCP.expect(c.portA+1, sr)

	// The counters move just after the packet leaves: give them a moment.
	st := settledStats(t, c.relay, func(st Stats) bool { return st.From[A].RTCPPackets == 1 && st.From[B].RTCPPackets == 1 })
	for _, s := range []Side{A, B} {
		d := st.From[s]
		if d.RTPPackets != 1 || d.RTPBytes != 172 || d.RTCPPackets != 1 || d.Dropped != 0 {
			t.Errorf("stats from %s = %+v", s, d)
		}
		if time.Since(d.LastRTP) > 5*time.Second {
			t.Errorf("LastRTP from %s = %v", s, d.LastRTP)
		}
	}
	ls := c.relay.State().Legs[A]
	if !ls.RTPLatched || ls.RTP != c.a.addr() || !ls.RTCPLatched || ls.RTCP != c.aRTCP.addr() {
		t.Errorf("leg A state = %+v", ls)
	}
}

// settledStats polls the relay's counters until done holds, for up to 2s.
func settledStats(t *testing.T, r *Relay, done func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		st := r.Stats()
		if done(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRelayDropsGarbage(t *testing.T) {
	c := newCall(t, Options{})
	for _, junk := range [][]byte{{}, {1, 2, 3}, make([]byte, 20)} { // too short, not version 2
		c.a.send(c.portA, junk)
	}
	c.b.expectNothing()
	if d := settledStats(t, c.relay, func(st Stats) bool { return st.From[A].Dropped == 3 }).From[A]; d.Dropped != 3 || d.RTPPackets != 0 || !d.LastRTP.IsZero() {
		t.Errorf("stats = %+v", d)
	}
}

// TestRelayLatchesBehindNAT: the SDP names an address the phone does not
// send from (NAT); the relay latches to the real source after probation.
// TestRelayLatchesBehindNAT: a phone whose SDP address is not where its
// packets come from is latched onto after probation, RTCP follows its IP,
// each latch is reported through OnLatch, and a relay restored with Latch
// sends to the latched addresses at once and accepts the phone's packets
// without a new probation.
func TestRelayLatchesBehindNAT(t *testing.T) {
	var latches atomic.Int32
	c := newCall(t, Options{Probation: 3, OnLatch: func() { latches.Add(1) }})
	nat := newPhone(t, "127.0.0.2") // the phone's public side
	sdpRTP, sdpRTCP := netip.MustParseAddrPort("127.0.0.9:4000"), netip.MustParseAddrPort("127.0.0.9:4001")
	c.relay.SetPeer(A, sdpRTP, sdpRTCP)
	latches.Store(0)
	for range 2 {
		nat.send(c.portA, nat.rtp(1))
	}
	c.b.expectNothing()
	// The third passes, and B's media now reaches the NAT'ed phone's real
	// address.
	c.talk(nat)
	if d := settledStats(t, c.relay, func(st Stats) bool { return st.From[A].RTPPackets == 1 }).From[A]; d.Dropped != 2 || d.RTPPackets != 1 {
		t.Errorf("stats from A = %+v", d)
	}
	// RTCP from the latched IP, any port, latches too.
	natRTCP := newPhone(t, "127.0.0.2")
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0x12, 0x34}
	natRTCP.send(c.portA+1, rr)
	c.bRTCP.expect(c.portB+1, rr)
	c.bRTCP.send(c.portB+1, rr)
	natRTCP.expect(c.portA+1, rr)
	if n := latches.Load(); n != 4 {
		t.Errorf("OnLatch called %d times for RTP and RTCP latches on both legs", n)
	}
	st := c.relay.State().Legs[A]
	if !st.RTPLatched || st.RTP != nat.addr() || !st.RTCPLatched || st.RTCP != natRTCP.addr() {
		t.Fatalf("leg A state %+v", st)
	}

	// The restart: a new relay on other ports gets the SDP address and
	// then the journaled latches.
	c.relay.Close()
	a, b := allocatePairs(t, c.pool)
	r := NewRelay(a, b, Options{})
	t.Cleanup(func() { r.Close() })
	pa, pb := r.Ports()
	r.SetPeer(A, sdpRTP, sdpRTCP)
	r.Latch(A, st.RTP, st.RTCP)
	r.SetPeer(B, c.b.addr(), c.bRTCP.addr())
	p := c.b.rtp(3)
	c.b.send(pb, p)
	nat.expect(pa, p) // no packet from the phone needed first
	p = nat.rtp(4)
	nat.send(pa, p)
	c.b.expect(pb, p) // accepted at once: no probation
	c.bRTCP.send(pb+1, rr)
	natRTCP.expect(pa+1, rr)
}

func TestRelayHijack(t *testing.T) {
	c := newCall(t, Options{Probation: 3})
	attacker := newPhone(t, "127.0.0.3")
	attacker.ssrc = 0xbad

	// Before the phone sends: out-of-sequence packets never pass probation.
	for range 5 {
		p := attacker.rtp(9)
		attacker.seq += 7
		attacker.send(c.portA, p)
	}
	c.b.expectNothing()

	// In-sequence packets from elsewhere pass probation before the phone
	// speaks (the SDP address could be behind a NAT)...
	for range 3 {
		attacker.send(c.portA, attacker.rtp(9))
	}
	c.b.recv(time.Second)
	// ...but the phone at its SDP address takes the latch back; then even a
	// well-formed in-sequence stream from elsewhere is dropped, and B's
	// audio keeps going to the phone.
	pa := c.a.rtp(1)
	c.a.send(c.portA, pa)
	c.b.expect(c.portB, pa)
	for range 5 {
		attacker.send(c.portA, attacker.rtp(9))
	}
	c.b.expectNothing()
	pb := c.b.rtp(2)
	c.b.send(c.portB, pb)
	c.a.expect(c.portA, pb)
	attacker.expectNothing()
	// RTCP from a foreign IP neither passes nor latches.
	attacker.send(c.portA+1, []byte{0x80, 201, 0, 1, 0, 0, 0, 1})
	c.bRTCP.expectNothing()
	if d := settledStats(t, c.relay, func(st Stats) bool { return st.From[A].Dropped == 13 }).From[A]; d.Dropped != 13 || d.RTPPackets != 2 {
		t.Errorf("from A: %d dropped, %d relayed; want 13 and 2", d.Dropped, d.RTPPackets)
	}
}

// TestRelaySetPeer: a re-INVITE to a new address re-latches; one with the
// same address (hold/resume) keeps the latch.
func TestRelaySetPeer(t *testing.T) {
	c := newCall(t, Options{})
	c.a.send(c.portA, c.a.rtp(1))
	c.b.recv(time.Second)
	c.relay.SetPeer(A, c.aSDP, c.aSDPRTCP)
	if !c.relay.State().Legs[A].RTPLatched {
		t.Error("same SDP address dropped the latch")
	}
	moved := newPhone(t, "127.0.0.1")
	c.relay.SetPeer(A, moved.addr(), netip.AddrPort{})
	if st := c.relay.State().Legs[A]; st.RTPLatched || st.SDPRTCP.Port() != moved.addr().Port()+1 {
		t.Errorf("after a re-INVITE to a new address: %+v", st)
	}
	if got := c.relay.Local(A); got != netip.AddrPortFrom(loopback, uint16(c.portA)) {
		t.Errorf("Local(A) = %s", got)
	}
	pb := c.b.rtp(2)
	c.b.send(c.portB, pb)
	moved.expect(c.portA, pb)
	p := moved.rtp(3)
	moved.send(c.portA, p)
	c.b.expect(c.portB, p)
}

// TestRelayHoldUnspecified: an RFC 2543 hold (c=0.0.0.0) sends nothing;
// Linux would deliver packets for 0.0.0.0 to the local phone otherwise.
func TestRelayHoldUnspecified(t *testing.T) {
	c := newCall(t, Options{})
	c.relay.SetPeer(A, netip.AddrPortFrom(netip.IPv4Unspecified(), c.aSDP.Port()), netip.AddrPort{})
	c.b.send(c.portB, c.b.rtp(1))
	c.a.expectNothing()
	c.a.send(c.portA, c.a.rtp(2))
	c.b.expectNothing()
	c.relay.SetPeer(A, c.aSDP, c.aSDPRTCP) // resume
	pb := c.b.rtp(3)
	c.b.send(c.portB, pb)
	c.a.expect(c.portA, pb)
}

// TestRelayIPv6: the pool and relay work the same on an IPv6 address.
func TestRelayIPv6(t *testing.T) {
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	low := 20000 + 2*rand.IntN(4000)
	p, err := NewPool(netip.IPv6Loopback(), low, low+7)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := allocatePairs(t, p)
	r := NewRelay(pa, pb, Options{})
	t.Cleanup(func() { r.Close() })
	c := &call{relay: r, a: newPhone(t, "::1"), b: newPhone(t, "::1")}
	c.portA, c.portB = r.Ports()
	r.SetPeer(A, c.a.addr(), netip.AddrPort{})
	r.SetPeer(B, c.b.addr(), netip.AddrPort{})
	if got := r.Local(A).Addr(); got != netip.IPv6Loopback() {
		t.Errorf("Local(A) = %s", got)
	}
	c.talk(c.a)
}

// TestRelayRestore: the state survives JSON and a restart on the same
// pool; media flows at once with no new latching.
func TestRelayRestore(t *testing.T) {
	c := newCall(t, Options{Probation: 3})
	nat := newPhone(t, "127.0.0.2")
	c.relay.SetPeer(A, netip.MustParseAddrPort("127.0.0.9:4000"), netip.MustParseAddrPort("127.0.0.9:4001"))
	for i := range 3 {
		nat.send(c.portA, nat.rtp(byte(i)))
	}
	c.b.recv(time.Second)
	st := c.relay.State()
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.relay.Close(); err != nil {
		t.Fatal(err)
	}
	if c.pool.InUse() != 0 {
		t.Fatalf("pairs still in use after Close: %d", c.pool.InUse())
	}
	var back State
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back != st {
		t.Fatalf("JSON round trip:\n%+v\n%+v", back, st)
	}
	r, err := RestoreRelay(c.pool, back, Options{Probation: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if a, b := r.Ports(); a != c.portA || b != c.portB {
		t.Fatalf("restored ports %d/%d; want %d/%d", a, b, c.portA, c.portB)
	}
	if last := r.Stats().From[B].LastRTP; time.Since(last) > 5*time.Second {
		t.Errorf("restored LastRTP = %v; want the restore time", last)
	}
	c.talk(nat)
	if _, err := RestoreRelay(c.pool, back, Options{}); err == nil {
		t.Error("restoring onto ports in use succeeded")
	}
	if c.pool.InUse() != 2 {
		t.Errorf("a failed restore leaked a pair: InUse = %d", c.pool.InUse())
	}
}

// TestRelayNoAllocs: relaying does not allocate per packet.
func TestRelayNoAllocs(t *testing.T) {
	c := newCall(t, Options{})
	pkt := c.a.rtp(1)
	buf := make([]byte, 2048)
	exchange := func() {
		c.a.send(c.portA, pkt)
		if _, _, err := c.b.conn.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.b.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	exchange() // latch
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 2000
	for range n {
		exchange()
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.Mallocs-before.Mallocs) / n; per > 0.05 {
		t.Errorf("%.2f allocations per relayed packet", per)
	}
}
