package media_test

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"pbxha/pbx/media"
)

// A call's relay: the caller's phone sends to leg A's port, the callee's
// phone gets it from leg B's port; after a restart the same ports return.
func Example() {
	vip := netip.MustParseAddr("127.0.0.1") // the VIP in production
	pool, err := media.NewPool(vip, 34000, 34099)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := pool.Allocate()
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := pool.Allocate()
	if err != nil {
		fmt.Println(err)
		return
	}
	relay := media.NewRelay(a, b, media.Options{})

	caller, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	callee, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer caller.Close()
	defer callee.Close()
	// From the phones' SDP (sdp.Session.AudioEndpoint); RTCP defaults to +1.
	relay.SetPeer(media.A, caller.LocalAddr().(*net.UDPAddr).AddrPort(), netip.AddrPort{})
	relay.SetPeer(media.B, callee.LocalAddr().(*net.UDPAddr).AddrPort(), netip.AddrPort{})

	rtp := append([]byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 160)...)
	caller.WriteToUDPAddrPort(rtp, relay.Local(media.A))
	callee.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := callee.ReadFromUDPAddrPort(buf)
	fmt.Println("callee got", n, "bytes from leg B:", from == relay.Local(media.B), err)

	st := relay.State() // journal this with the call
	relay.Close()
	relay, err = media.RestoreRelay(pool, st, media.Options{})
	fmt.Println("restored on the same ports:", err == nil && relay.Local(media.A) == netip.AddrPortFrom(vip, uint16(st.Legs[media.A].Port)))
	relay.Close()
	// Output:
	// callee got 172 bytes from leg B: true <nil>
	// restored on the same ports: true
}
