package daemon

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"pbxha/pbx/sipd"
)

// TestRelayTotals relays RTP through a real relay and checks the totals
// kept for `pbx status`.
func TestRelayTotals(t *testing.T) {
	f, err := newMedia(netip.MustParseAddr("127.0.0.1"), 31000, 31099)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Allocate("call-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Local(sipd.Caller).Port(); got%2 != 0 || got < 31000 || got > 31099 {
		t.Fatalf("caller relay port %d", got)
	}
	phones := [2]*net.UDPConn{}
	for i := range phones {
		if phones[i], err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		defer phones[i].Close()
		r.SetPeer(sipd.Side(i), sipd.Peer{RTP: phones[i].LocalAddr().(*net.UDPAddr).AddrPort()})
	}
	pkt := make([]byte, 172)
	pkt[0] = 0x80 // RTP version 2
	for i := 0; i < 10; i++ {
		pkt[3] = byte(i)
		if _, err := phones[0].WriteToUDPAddrPort(pkt, r.Local(sipd.Caller)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 512)
	for i := 0; i < 10; i++ {
		phones[1].SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := phones[1].Read(buf); err != nil {
			t.Fatalf("packet %d not relayed to the callee: %v", i, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.rtpTotals(); got != (RTPTotals{FromCaller: 10}) {
		t.Fatalf("totals %+v, want 10 from the caller", got)
	}
}
