package recovery

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// writePCAP writes a pcap of d of G.711 A-law RTP (20 ms packets), for
// sipp's play_pcap_audio, which sends the UDP payloads with the capture's
// timing to the address in the PBX's SDP. (The pcap sipp ships lasts 7 s:
// too short for a call that outlives a restart.)
func writePCAP(t *testing.T, path string, d time.Duration) {
	t.Helper()
	const payload = 160
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...) // thiszone, sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1) // Ethernet
	n := int(d / (20 * time.Millisecond))
	for i := range n {
		ts := time.Duration(i) * 20 * time.Millisecond
		frame := rtpFrame(uint16(i), uint32(i*payload), payload)
		b = binary.LittleEndian.AppendUint32(b, uint32(ts/time.Second))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts%time.Second/time.Microsecond))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rtpFrame is an Ethernet/IPv4/UDP frame carrying one PCMA RTP packet of
// a 1 kHz-ish tone.
func rtpFrame(seq uint16, ts uint32, payload int) []byte {
	rtp := []byte{0x80, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78}
	binary.BigEndian.PutUint16(rtp[2:], seq)
	binary.BigEndian.PutUint32(rtp[4:], ts)
	for i := range payload {
		rtp = append(rtp, []byte{0x34, 0xb4, 0x34, 0xb4, 0x55, 0xd5, 0x55, 0xd5}[i%8])
	}
	udp := binary.BigEndian.AppendUint16(nil, 4000)
	udp = binary.BigEndian.AppendUint16(udp, 4000)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(rtp)))
	udp = append(udp, 0, 0) // no checksum
	udp = append(udp, rtp...)
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	eth := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00}
	return append(append(eth, ip...), udp...)
}

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
