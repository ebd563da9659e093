package sdp

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .relayed.sdp golden files")

// crlf turns a readable LF literal into what phones put on the wire.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mustParse(t *testing.T, b []byte) *Session {
	t.Helper()
	s, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, b)
	}
	return s
}

func captured(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.sdp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".relayed.sdp") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no captured SDP under testdata/")
	}
	return out
}

// TestRoundTrip: every captured description marshals back byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, f := range captured(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if out := mustParse(t, in).Marshal(); !bytes.Equal(out, in) {
				t.Errorf("round trip differs:\n--- in\n%s--- out\n%s", in, out)
			}
		})
	}
}

// TestCapturedAudio reads the audio view of the real clients' SDP.
func TestCapturedAudio(t *testing.T) {
	tests := []struct {
		file    string
		rtp     string
		rtcp    string
		formats []Format
	}{
		{"sipp-uac-offer.sdp", "127.0.0.1:6000", "127.0.0.1:6001", []Format{{0, PCMU, 8000, 0, ""}}},
		{"sipp-uas-answer.sdp", "127.0.0.1:6000", "127.0.0.1:6001", []Format{{0, PCMU, 8000, 0, ""}}},
		{"baresip-answer.sdp", "192.0.2.2:8654", "192.0.2.2:8655", []Format{{0, PCMU, 8000, 0, ""}}},
		{"baresip-offer.sdp", "192.0.2.2:45960", "192.0.2.2:45961", []Format{
			{0, PCMU, 8000, 0, ""}, {8, PCMA, 8000, 0, ""}, {9, "G722", 8000, 0, ""},
			{96, "opus", 48000, 2, "stereo=1;sprop-stereo=1"}, {101, TelephoneEvent, 8000, 0, "0-15"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s := mustParse(t, in)
			rtp, err := s.AudioEndpoint()
			if err != nil || rtp.String() != tt.rtp {
				t.Errorf("AudioEndpoint = %v, %v; want %s", rtp, err, tt.rtp)
			}
			rtcp, err := s.AudioRTCPEndpoint()
			if err != nil || rtcp.String() != tt.rtcp {
				t.Errorf("AudioRTCPEndpoint = %v, %v; want %s", rtcp, err, tt.rtcp)
			}
			got := s.Audio().Formats()
			if len(got) != len(tt.formats) {
				t.Fatalf("Formats = %+v; want %+v", got, tt.formats)
			}
			for i := range got {
				if got[i] != tt.formats[i] {
					t.Errorf("format %d = %+v; want %+v", i, got[i], tt.formats[i])
				}
			}
			if s.Direction() != SendRecv || s.OnHold() {
				t.Errorf("Direction = %s, OnHold = %v; want sendrecv, not held", s.Direction(), s.OnHold())
			}
		})
	}
}

// TestRelayedGolden rewrites each captured description the way the B2BUA
// does and compares with testdata/*.relayed.sdp (go test -update rewrites).
func TestRelayedGolden(t *testing.T) {
	vip := netip.MustParseAddr("198.18.0.100")
	for _, f := range captured(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s := mustParse(t, in)
			if err := s.FilterAudio(PCMU, PCMA, TelephoneEvent); err != nil {
				t.Fatal(err)
			}
			if err := s.SetAudioEndpoint(vip, 40000); err != nil {
				t.Fatal(err)
			}
			s.RejectOtherMedia()
			s.Origin = Origin{Username: "pbxha", SessionID: "42", Version: 7, NetType: "IN", AddrType: "IP4", Address: vip.String()}
			out := s.Marshal()
			golden := strings.TrimSuffix(f, ".sdp") + ".relayed.sdp"
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("relayed SDP differs from %s:\n%s", golden, out)
			}
			ep, err := mustParse(t, out).AudioEndpoint()
			if err != nil || ep != netip.AddrPortFrom(vip, 40000) {
				t.Errorf("relayed endpoint = %v, %v", ep, err)
			}
		})
	}
}

const multi = `v=0
o=alice 2890844526 2890844527 IN IP6 2001:db8::1
s=
i=a call
c=IN IP6 2001:db8::1
b=AS:128
t=0 0
a=group:BUNDLE a v
a=x-unknown
m=audio 49170/2 RTP/AVP 8 97 101 13
c=IN IP4 198.51.100.7
a=rtpmap:97 iLBC/8000
a=rtpmap:101 telephone-event/8000
a=rtcp:53020 IN IP4 198.51.100.8
a=candidate:1 1 UDP 2130706431 198.51.100.7 49170 typ host
a=ice-ufrag:abcd
a=rtcp-fb:97 nack
a=rtcp-fb:* trr-int 100
a=recvonly
m=video 51372 RTP/AVP 31
a=rtpmap:31 H261/90000
`

func TestParseMulti(t *testing.T) {
	// LF line ends, multiple media, media-level c=, unknown attributes.
	s := mustParse(t, []byte(multi))
	if len(s.Media) != 2 || s.Media[1].Type != "video" {
		t.Fatalf("media = %+v", s.Media)
	}
	if s.Origin.Version != 2890844527 || s.Origin.Address != "2001:db8::1" {
		t.Errorf("origin = %+v", s.Origin)
	}
	if s.Name != "-" {
		t.Errorf("empty s= should read as -, got %q", s.Name)
	}
	if ep, _ := s.AudioEndpoint(); ep.String() != "198.51.100.7:49170" {
		t.Errorf("AudioEndpoint = %v; media-level c= must win", ep)
	}
	if ep, _ := s.AudioRTCPEndpoint(); ep.String() != "198.51.100.8:53020" {
		t.Errorf("AudioRTCPEndpoint = %v; want the a=rtcp address", ep)
	}
	if a := s.Audio(); a.NumPorts != 2 {
		t.Errorf("NumPorts = %d", a.NumPorts)
	}
	if s.Direction() != RecvOnly || s.OnHold() {
		t.Errorf("Direction = %s OnHold = %v; recvonly is not a hold offer", s.Direction(), s.OnHold())
	}
	if v, ok := s.Attr("x-unknown"); !ok || v != "" {
		t.Errorf("unknown session attribute lost")
	}
	if err := s.FilterAudio(PCMA, TelephoneEvent); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAudioEndpoint(netip.MustParseAddr("198.18.0.100"), 40002); err != nil {
		t.Fatal(err)
	}
	s.RejectOtherMedia()
	want := `v=0
o=alice 2890844526 2890844527 IN IP6 2001:db8::1
s=-
i=a call
c=IN IP4 198.18.0.100
b=AS:128
t=0 0
a=group:BUNDLE a v
a=x-unknown
m=audio 40002/2 RTP/AVP 8 101
c=IN IP4 198.18.0.100
a=rtpmap:101 telephone-event/8000
a=rtcp:40003 IN IP4 198.18.0.100
a=rtcp-fb:* trr-int 100
a=recvonly
m=video 0 RTP/AVP 31
a=rtpmap:31 H261/90000
`
	if got := string(s.Marshal()); got != string(crlf(want)) {
		t.Errorf("Marshal:\n%s\nwant:\n%s", got, crlf(want))
	}
}

// TestNegotiateCaptured: baresip answering sipp's offer picked PCMU.
func TestNegotiateCaptured(t *testing.T) {
	read := func(name string) *Session {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, b)
	}
	f, err := Negotiate(read("sipp-uac-offer.sdp"), read("baresip-answer.sdp"))
	if err != nil || !f.Is(PCMU) || f.Payload != 0 {
		t.Errorf("Negotiate = %+v, %v; want PCMU", f, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty description"},
		{"blank lines", "\r\n\r\n", "empty description"},
		{"not sdp", "INVITE sip:a@b SIP/2.0\r\n", "want <letter>=<value>"},
		{"binary", "v=0\r\no=\x00\x01", "control character"},
		{"no version", "o=- 1 1 IN IP4 1.2.3.4\r\n", "starts with v=0"},
		{"version 1", "v=1\r\n", "starts with v=0"},
		{"no origin", "v=0\r\ns=-\r\n", "no o= line"},
		{"short origin", "v=0\r\no=- 1 IN IP4 1.2.3.4\r\n", "want o="},
		{"origin version", "v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n", "session version is not a number"},
		{"two origins", "v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\n", "o= repeated"},
		{"two versions", "v=0\r\nv=0\r\n", "v= repeated"},
		{"bad c", "v=0\r\no=- 1 1 IN IP4 a\r\nc=IN IP4\r\n", "want c="},
		{"atm c", "v=0\r\no=- 1 1 IN IP4 a\r\nc=ATM NSAP 1\r\n", "only IN IP4 and IN IP6"},
		{"short m", "v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 1 RTP/AVP\r\n", "want m="},
		{"m port", "v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 70000 RTP/AVP 0\r\n", "bad port"},
		{"m count", "v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 1/0 RTP/AVP 0\r\n", "bad port count"},
		{"rtpmap", "v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", "want <encoding>/<clock rate>"},
		{"rtpmap rate", "v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/x\r\n", "bad clock rate"},
		{"uppercase type", "v=0\r\nO=- 1 1 IN IP4 a\r\n", "want <letter>=<value>"},
		{"too big", "v=0\r\n" + strings.Repeat("a=x\r\n", MaxSize/5+1), "over the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			var e *Error
			if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, %v; want *Error containing %q", s, err, tt.want)
			}
		})
	}
}

func session(t *testing.T, audio string) *Session {
	t.Helper()
	return mustParse(t, crlf("v=0\no=- 1 1 IN IP4 203.0.113.1\ns=-\nc=IN IP4 203.0.113.1\nt=0 0\n"+audio))
}

func TestHold(t *testing.T) {
	tests := []struct {
		name, audio string
		dir         Direction
		hold        bool
	}{
		{"default", "m=audio 4000 RTP/AVP 0\n", SendRecv, false},
		{"sendonly", "m=audio 4000 RTP/AVP 0\na=sendonly\n", SendOnly, true},
		{"inactive", "m=audio 4000 RTP/AVP 0\na=inactive\n", Inactive, true},
		{"recvonly", "m=audio 4000 RTP/AVP 0\na=recvonly\n", RecvOnly, false},
		{"rfc2543", "m=audio 4000 RTP/AVP 0\nc=IN IP4 0.0.0.0\n", SendRecv, true},
		{"ipv6 unspecified", "m=audio 4000 RTP/AVP 0\nc=IN IP6 ::\n", SendRecv, true},
		{"no audio", "m=video 4000 RTP/AVP 31\n", Inactive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := session(t, tt.audio)
			if d := s.Direction(); d != tt.dir {
				t.Errorf("Direction = %s; want %s", d, tt.dir)
			}
			if h := s.OnHold(); h != tt.hold {
				t.Errorf("OnHold = %v; want %v", h, tt.hold)
			}
		})
	}
	// Session-level direction applies when the media has none.
	s := mustParse(t, crlf("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 203.0.113.1\na=sendonly\nm=audio 4000 RTP/AVP 0\n"))
	if !s.OnHold() {
		t.Error("session-level a=sendonly not seen")
	}
	if err := s.SetDirection(SendRecv); err != nil || s.Direction() != SendRecv {
		t.Errorf("SetDirection: %v, now %s", err, s.Direction())
	}
}

func TestFilterAndNegotiate(t *testing.T) {
	offer := session(t, "m=audio 4000 RTP/AVP 18 8 0 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=fmtp:18 annexb=no\n")
	if err := session(t, "m=audio 4000 RTP/AVP 18 101\na=rtpmap:101 telephone-event/8000\n").FilterAudio(PCMU, PCMA, TelephoneEvent); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("G.729-only offer: FilterAudio = %v; want ErrNoCommonCodec", err)
	}
	if err := offer.FilterAudio("pcmu", "PCMA", TelephoneEvent); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(offer.Audio().Payloads, " "); got != "8 0 101" {
		t.Errorf("payloads after filter = %q", got)
	}
	if _, ok := offer.Audio().Attr("fmtp"); !ok || strings.Contains(string(offer.Marshal()), "annexb") {
		t.Errorf("fmtp of kept format lost or of dropped format kept:\n%s", offer.Marshal())
	}
	tests := []struct {
		name, answer, want string
		err                error
	}{
		{"first common", "m=audio 5000 RTP/AVP 0 8 101\na=rtpmap:101 telephone-event/8000\n", PCMU, nil},
		{"dtmf first", "m=audio 5000 RTP/AVP 101 8\na=rtpmap:101 telephone-event/8000\n", PCMA, nil},
		{"rejected", "m=audio 0 RTP/AVP 0\n", "", ErrNoCommonCodec},
		{"not offered", "m=audio 5000 RTP/AVP 9\n", "", ErrNoCommonCodec},
		{"no audio", "m=video 5000 RTP/AVP 31\n", "", ErrNoAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Negotiate(offer, session(t, tt.answer))
			if !errors.Is(err, tt.err) || f.Name != tt.want {
				t.Errorf("Negotiate = %+v, %v; want %s, %v", f, err, tt.want, tt.err)
			}
		})
	}
}

// TestDisabledAudio: an answer that rejects audio stays a rejection.
func TestDisabledAudio(t *testing.T) {
	s := session(t, "m=audio 0 RTP/AVP 18\n")
	if err := s.FilterAudio(PCMU, PCMA); err != nil {
		t.Errorf("FilterAudio on a rejected stream: %v", err)
	}
	if err := s.SetAudioEndpoint(netip.MustParseAddr("198.18.0.100"), 40000); err != nil {
		t.Fatal(err)
	}
	if ep, err := s.AudioEndpoint(); err != nil || ep.Port() != 0 || ep.Addr().String() != "198.18.0.100" {
		t.Errorf("AudioEndpoint = %v, %v; want port 0 kept", ep, err)
	}
}

func TestEndpointErrors(t *testing.T) {
	tests := []struct {
		name string
		s    *Session
		want string
	}{
		{"no audio", session(t, "m=video 1 RTP/AVP 31\n"), "no audio"},
		{"host name", mustParse(t, crlf("v=0\no=- 1 1 IN IP4 a\nm=audio 1 RTP/AVP 0\nc=IN IP4 phone.example\n")), "not an IP address"},
		{"no c", mustParse(t, crlf("v=0\no=- 1 1 IN IP4 a\nm=audio 1 RTP/AVP 0\n")), "no c= line"},
		{"bad rtcp", session(t, "m=audio 1 RTP/AVP 0\na=rtcp:\n"), "want <port>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.AudioRTCPEndpoint()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AudioRTCPEndpoint error = %v; want %q", err, tt.want)
			}
		})
	}
	s := session(t, "m=audio 1 RTP/AVP 0\n")
	if err := s.SetAudioEndpoint(netip.Addr{}, 4000); err == nil {
		t.Error("SetAudioEndpoint accepted an invalid address")
	}
	if err := s.SetAudioEndpoint(netip.MustParseAddr("::1"), 0); err == nil {
		t.Error("SetAudioEndpoint accepted port 0")
	}
	if err := s.SetAudioEndpoint(netip.MustParseAddr("::ffff:198.18.0.1"), 4000); err != nil || s.Connection.String() != "IN IP4 198.18.0.1" {
		t.Errorf("v4-mapped address: %v, c=%s", err, s.Connection)
	}
	if o := s.Origin.Next(); o.Version != s.Origin.Version+1 {
		t.Errorf("Next = %d", o.Version)
	}
}

// FuzzParse: whatever Parse accepts marshals to a description that parses
// to the same bytes again, and no input panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sdp")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(multi))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		out := s.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of marshalled output: %v\n%q", err, out)
		}
		if again := s2.Marshal(); !bytes.Equal(again, out) {
			t.Fatalf("marshal not stable:\n%q\n%q", out, again)
		}
		s2.Audio()
		s2.Direction()
		s2.OnHold()
		_, _ = s2.AudioRTCPEndpoint()
		if s2.Audio() != nil {
			_ = s2.FilterAudio(PCMU, PCMA, TelephoneEvent)
			_ = s2.SetAudioEndpoint(netip.MustParseAddr("127.0.0.1"), 40000)
			if _, err := Parse(s2.Marshal()); err != nil {
				t.Fatalf("edited description no longer parses: %v", err)
			}
		}
	})
}

// BenchmarkAnchor: what the B2BUA does to each SDP body it relays.
func BenchmarkAnchor(b *testing.B) {
	in, err := os.ReadFile("testdata/baresip-offer.sdp")
	if err != nil {
		b.Fatal(err)
	}
	vip := netip.MustParseAddr("198.18.0.100")
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.FilterAudio(PCMU, PCMA, TelephoneEvent); err != nil {
			b.Fatal(err)
		}
		if err := s.SetAudioEndpoint(vip, 40000); err != nil {
			b.Fatal(err)
		}
		s.Origin = s.Origin.Next()
		_ = s.Marshal()
	}
}
