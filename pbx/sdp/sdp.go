// Package sdp parses, edits and writes SDP session descriptions (RFC 8866)
// as the PBX's B2BUA needs them to anchor audio on its RTP relay.
//
// The model keeps every line a phone sent, so a description in RFC 8866
// line order that is parsed and marshalled again comes out byte for byte
// the same (with CRLF), apart from the edits made through this package:
//
//	s, err := sdp.Parse(body)           // strict on structure, tolerant of unknown lines
//	ep, _ := s.AudioEndpoint()          // where the phone wants audio: c= (media or session) + port
//	s.FilterAudio(sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent) // or ErrNoCommonCodec: answer 488
//	s.RejectOtherMedia()                // video etc. get port 0: the relay carries audio
//	s.SetAudioEndpoint(vip, 40000)      // c=, m= port and a=rtcp now point at the relay
//	s.Origin = lastSent.Origin.Next()   // this leg's own o=, version + 1 (RFC 3264 §8)
//	body = s.Marshal()
//
// Offer/answer helpers: Negotiate picks the codec an answer selected among
// the offer's; Direction and OnHold tell hold and resume apart (RFC 3264
// section 8.4 and the older c=0.0.0.0 convention of RFC 2543).
package sdp

import (
	"net/netip"
	"strconv"
	"strings"
)

// Encoding names this package knows by default.
const (
	PCMU           = "PCMU"
	PCMA           = "PCMA"
	TelephoneEvent = "telephone-event"
)

// Session is one parsed session description.
type Session struct {
	Origin Origin
	// Name is the s= line ("-" when the phone sent none).
	Name string
	// Connection is the session-level c= line, nil when absent.
	Connection *Connection
	// Fields holds the other session-level lines (i u e p b t r z k and any
	// unknown letter) in the order they came.
	Fields []Field
	// Attributes holds the session-level a= lines in order.
	Attributes []Attribute
	Media      []*Media
}

// Origin is the o= line. SessionID is kept as text because phones put
// anything numeric there; Version must grow by one on every new offer a
// side sends within a dialog (RFC 3264 section 8).
type Origin struct {
	Username  string
	SessionID string
	Version   uint64
	NetType   string
	AddrType  string
	Address   string
}

// Next returns the origin with its version incremented, for a new offer.
func (o Origin) Next() Origin {
	o.Version++
	return o
}

// Connection is a c= line. Address may carry a multicast /ttl suffix as sent.
type Connection struct {
	NetType  string
	AddrType string
	Address  string
}

// Addr returns the connection address as an IP, or an error for host names
// and multicast suffixes.
func (c *Connection) Addr() (netip.Addr, error) {
	a, err := netip.ParseAddr(c.Address)
	if err != nil {
		return netip.Addr{}, &Error{Line: "c=" + c.String(), Msg: "connection address is not an IP address"}
	}
	return a, nil
}

func (c *Connection) String() string { return c.NetType + " " + c.AddrType + " " + c.Address }

// connectionFor returns the c= for addr (IP4 or IP6).
func connectionFor(addr netip.Addr) *Connection {
	t := "IP4"
	if addr.Is6() && !addr.Is4In6() {
		t = "IP6"
	}
	return &Connection{NetType: "IN", AddrType: t, Address: addr.Unmap().String()}
}

// Field is an SDP line other than v o s c m a, such as t=0 0 or b=AS:64.
type Field struct {
	Type  byte
	Value string
}

// Attribute is an a= line: a=Key or a=Key:Value.
type Attribute struct {
	Key   string
	Value string
	// Flag is true for property attributes without a colon (a=sendrecv).
	Flag bool
}

func (a Attribute) String() string {
	if a.Flag {
		return a.Key
	}
	return a.Key + ":" + a.Value
}

// Media is one m= section.
type Media struct {
	Type string // audio, video, ...
	Port int
	// NumPorts is the /n suffix of the port, 0 when absent.
	NumPorts int
	Proto    string
	// Payloads is the format list of the m= line, as text.
	Payloads   []string
	Connection *Connection
	Fields     []Field
	Attributes []Attribute
}

// Attr returns the value of the first media-level attribute named key.
func (m *Media) Attr(key string) (string, bool) { return attr(m.Attributes, key) }

func attr(as []Attribute, key string) (string, bool) {
	for _, a := range as {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Format is one payload format of an m= line with its rtpmap and fmtp.
type Format struct {
	Payload   uint8
	Name      string // encoding name as sent (PCMU, opus, telephone-event)
	ClockRate int
	Channels  int    // 0 when not given
	Fmtp      string // a=fmtp parameters, "" when absent
}

// Is reports whether f has the encoding name (case-insensitive, RFC 4855).
func (f Format) Is(name string) bool { return strings.EqualFold(f.Name, name) }

// static holds the RTP/AVP static payload types a phone may use without
// an rtpmap (RFC 3551 table 4), limited to the audio ones of interest.
var static = map[uint8]Format{
	0:  {Payload: 0, Name: PCMU, ClockRate: 8000, Channels: 1},
	3:  {Payload: 3, Name: "GSM", ClockRate: 8000, Channels: 1},
	4:  {Payload: 4, Name: "G723", ClockRate: 8000, Channels: 1},
	8:  {Payload: 8, Name: PCMA, ClockRate: 8000, Channels: 1},
	9:  {Payload: 9, Name: "G722", ClockRate: 8000, Channels: 1},
	13: {Payload: 13, Name: "CN", ClockRate: 8000, Channels: 1},
	18: {Payload: 18, Name: "G729", ClockRate: 8000, Channels: 1},
}

// Formats returns the m= line's formats in preference order, resolved
// through a=rtpmap and a=fmtp (static payload types without an rtpmap use
// RFC 3551's names). Non-numeric formats (non-RTP media) are skipped.
func (m *Media) Formats() []Format {
	out := make([]Format, 0, len(m.Payloads))
	for _, p := range m.Payloads {
		pt, err := strconv.ParseUint(p, 10, 7)
		if err != nil {
			continue
		}
		f, ok := static[uint8(pt)]
		if !ok {
			f = Format{Payload: uint8(pt)}
		}
		for _, a := range m.Attributes {
			id, rest, _ := strings.Cut(a.Value, " ")
			if id != p {
				continue
			}
			switch a.Key {
			case "rtpmap":
				if rf, err := parseRtpmap(rest); err == nil {
					f.Name, f.ClockRate, f.Channels = rf.Name, rf.ClockRate, rf.Channels
				}
			case "fmtp":
				f.Fmtp = rest
			}
		}
		out = append(out, f)
	}
	return out
}

// parseRtpmap parses "PCMU/8000[/1]".
func parseRtpmap(s string) (Format, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return Format{}, &Error{Line: "a=rtpmap:" + s, Msg: "want <encoding>/<clock rate>[/<channels>]"}
	}
	f := Format{Name: parts[0]}
	var err error
	if f.ClockRate, err = strconv.Atoi(parts[1]); err != nil || f.ClockRate <= 0 {
		return Format{}, &Error{Line: "a=rtpmap:" + s, Msg: "bad clock rate"}
	}
	if len(parts) == 3 {
		if f.Channels, err = strconv.Atoi(parts[2]); err != nil || f.Channels <= 0 {
			return Format{}, &Error{Line: "a=rtpmap:" + s, Msg: "bad channel count"}
		}
	}
	return f, nil
}

// Audio returns the first audio m= section, or nil when there is none.
func (s *Session) Audio() *Media {
	for _, m := range s.Media {
		if m.Type == "audio" {
			return m
		}
	}
	return nil
}

// Attr returns the value of the first session-level attribute named key.
func (s *Session) Attr(key string) (string, bool) { return attr(s.Attributes, key) }
