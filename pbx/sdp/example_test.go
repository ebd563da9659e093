package sdp_test

import (
	"fmt"
	"net/netip"
	"strings"

	"pbxha/pbx/sdp"
)

// The B2BUA's rewrite of a phone's offer before it goes to the other leg.
func Example() {
	offer := []byte("v=0\r\n" +
		"o=- 3904809697 961978521 IN IP4 192.0.2.2\r\n" +
		"s=-\r\n" +
		"c=IN IP4 192.0.2.2\r\n" +
		"t=0 0\r\n" +
		"m=audio 45960 RTP/AVP 0 8 9 101\r\n" +
		"a=rtpmap:9 G722/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\n" +
		"a=sendonly\r\n")
	s, err := sdp.Parse(offer)
	if err != nil {
		fmt.Println(err)
		return
	}
	phone, _ := s.AudioEndpoint()
	fmt.Println("phone wants audio at", phone, "on hold:", s.OnHold())
	if err := s.FilterAudio(sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent); err != nil {
		fmt.Println(err)
		return
	}
	if err := s.SetAudioEndpoint(netip.MustParseAddr("198.18.0.100"), 40002); err != nil {
		fmt.Println(err)
		return
	}
	s.Origin = sdp.Origin{Username: "pbxha", SessionID: "1", Version: 2, NetType: "IN", AddrType: "IP4", Address: "198.18.0.100"}
	// Marshal ends lines with CRLF; shown here as plain newlines.
	fmt.Print(strings.ReplaceAll(string(s.Marshal()), "\r\n", "\n"))
	// Output:
	// phone wants audio at 192.0.2.2:45960 on hold: true
	// v=0
	// o=pbxha 1 2 IN IP4 198.18.0.100
	// s=-
	// c=IN IP4 198.18.0.100
	// t=0 0
	// m=audio 40002 RTP/AVP 0 8 101
	// a=rtpmap:101 telephone-event/8000
	// a=fmtp:101 0-15
	// a=sendonly
}
