package sdp

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Errors returned by the audio helpers; test with errors.Is.
var (
	ErrNoAudio       = errors.New("sdp: no audio media section")
	ErrNoCommonCodec = errors.New("sdp: no common audio codec")
)

// Direction is the media direction attribute (RFC 3264 section 5.1).
type Direction string

// The four directions; a section without one is sendrecv.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

func isDirection(key string) bool {
	switch Direction(key) {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		return true
	}
	return false
}

// iceAttributes are removed when the relay anchors the media: candidates
// would let ICE-capable phones route around it.
var iceAttributes = []string{"candidate", "remote-candidates", "end-of-candidates", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "ice-mismatch"}

// audio returns the first audio section or ErrNoAudio.
func (s *Session) audio() (*Media, error) {
	if m := s.Audio(); m != nil {
		return m, nil
	}
	return nil, ErrNoAudio
}

// audioConnection returns the c= that applies to the audio section.
func (s *Session) audioConnection(m *Media) (*Connection, error) {
	switch {
	case m.Connection != nil:
		return m.Connection, nil
	case s.Connection != nil:
		return s.Connection, nil
	}
	return nil, &Error{Msg: "audio section has no c= line, neither media- nor session-level"}
}

// AudioEndpoint returns where the sender of s wants to receive audio RTP:
// the audio section's c= address (media-level, else session-level) and its
// m= port. A port of 0 means the stream is rejected or disabled.
func (s *Session) AudioEndpoint() (netip.AddrPort, error) {
	m, err := s.audio()
	if err != nil {
		return netip.AddrPort{}, err
	}
	c, err := s.audioConnection(m)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, err := c.Addr()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, uint16(m.Port)), nil
}

// AudioRTCPEndpoint returns where the sender of s wants audio RTCP: the
// a=rtcp attribute (RFC 3605) when present, else the RTP port + 1.
func (s *Session) AudioRTCPEndpoint() (netip.AddrPort, error) {
	rtp, err := s.AudioEndpoint()
	if err != nil {
		return netip.AddrPort{}, err
	}
	v, ok := s.Audio().Attr("rtcp")
	if !ok {
		return netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1), nil
	}
	bad := &Error{Line: "a=rtcp:" + v, Msg: "want <port> [IN IP4|IP6 <address>]"}
	f := strings.Fields(v)
	if len(f) != 1 && len(f) != 4 {
		return netip.AddrPort{}, bad
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil {
		return netip.AddrPort{}, bad
	}
	addr := rtp.Addr()
	if len(f) == 4 {
		if addr, err = netip.ParseAddr(f[3]); err != nil {
			return netip.AddrPort{}, &Error{Line: "a=rtcp:" + v, Msg: "address is not an IP address"}
		}
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// SetAudioEndpoint points the audio stream at the relay: the audio m= port
// becomes port, its c= (media-level, and the session-level one if present)
// becomes addr, an a=rtcp attribute becomes port+1 on addr, and ICE
// attributes are removed. A disabled stream (port 0) keeps port 0. The
// relay carries audio only: reject the other sections with
// RejectOtherMedia. o= is left to the caller, which owns the origin (and
// its version) of each leg.
func (s *Session) SetAudioEndpoint(addr netip.Addr, port int) error {
	m, err := s.audio()
	if err != nil {
		return err
	}
	if !addr.IsValid() || port < 1 || port > 65534 {
		return &Error{Msg: "relay endpoint " + netip.AddrPortFrom(addr, uint16(port)).String() + " is not a usable address and port"}
	}
	c := connectionFor(addr)
	if s.Connection != nil {
		s.Connection = c
	}
	if m.Connection != nil || s.Connection == nil {
		m.Connection = connectionFor(addr)
	}
	if m.Port != 0 {
		m.Port = port
	}
	for i, a := range m.Attributes {
		if a.Key != "rtcp" {
			continue
		}
		v := strconv.Itoa(port + 1)
		if len(strings.Fields(a.Value)) == 4 {
			v += " " + c.String()
		}
		m.Attributes[i].Value = v
	}
	s.Attributes = slices.DeleteFunc(s.Attributes, func(a Attribute) bool { return slices.Contains(iceAttributes, a.Key) })
	m.Attributes = slices.DeleteFunc(m.Attributes, func(a Attribute) bool { return slices.Contains(iceAttributes, a.Key) })
	return nil
}

// RejectOtherMedia sets the port of every section but the first audio one
// to 0, which declines them in an answer and disables them in an offer.
func (s *Session) RejectOtherMedia() {
	a := s.Audio()
	for _, m := range s.Media {
		if m != a {
			m.Port = 0
		}
	}
}

// FilterAudio keeps only the audio formats whose encoding name is one of
// names (case-insensitive), dropping the others' rtpmap, fmtp and rtcp-fb
// attributes. It returns ErrNoCommonCodec when no format is left other than
// telephone-event and comfort noise, and leaves s unchanged then. A
// disabled stream (port 0) is left as it is.
func (s *Session) FilterAudio(names ...string) error {
	m, err := s.audio()
	if err != nil {
		return err
	}
	if m.Port == 0 {
		return nil
	}
	var keep []string
	voice := false
	for _, f := range m.Formats() {
		if !slices.ContainsFunc(names, f.Is) {
			continue
		}
		keep = append(keep, strconv.Itoa(int(f.Payload)))
		voice = voice || isVoice(f)
	}
	if !voice {
		return ErrNoCommonCodec
	}
	m.Payloads = keep
	m.Attributes = slices.DeleteFunc(m.Attributes, func(a Attribute) bool {
		if a.Key != "rtpmap" && a.Key != "fmtp" && a.Key != "rtcp-fb" {
			return false
		}
		id, _, _ := strings.Cut(a.Value, " ")
		return id != "*" && !slices.Contains(keep, id)
	})
	return nil
}

// isVoice reports whether f carries speech (not DTMF events or comfort noise).
func isVoice(f Format) bool { return f.Name != "" && !f.Is(TelephoneEvent) && !f.Is("CN") }

// Negotiate returns the voice codec an answer selected: the answer's first
// audio format that the offer also lists (same encoding name and clock
// rate). It fails with ErrNoCommonCodec when the answer rejected audio
// (port 0) or chose nothing the offer had.
func Negotiate(offer, answer *Session) (Format, error) {
	om, err := offer.audio()
	if err != nil {
		return Format{}, err
	}
	am, err := answer.audio()
	if err != nil {
		return Format{}, err
	}
	if am.Port == 0 {
		return Format{}, ErrNoCommonCodec
	}
	offered := om.Formats()
	for _, f := range am.Formats() {
		if !isVoice(f) {
			continue
		}
		if slices.ContainsFunc(offered, func(o Format) bool { return o.Is(f.Name) && o.ClockRate == f.ClockRate }) {
			return f, nil
		}
	}
	return Format{}, ErrNoCommonCodec
}

// Direction returns the audio section's direction: its own attribute, else
// the session-level one, else sendrecv. With no audio section it is
// Inactive.
func (s *Session) Direction() Direction {
	m := s.Audio()
	if m == nil {
		return Inactive
	}
	for _, as := range [][]Attribute{m.Attributes, s.Attributes} {
		for _, a := range as {
			if a.Flag && isDirection(a.Key) {
				return Direction(a.Key)
			}
		}
	}
	return SendRecv
}

// SetDirection sets the audio direction with a media-level attribute,
// replacing any media-level direction already there.
func (s *Session) SetDirection(d Direction) error {
	m, err := s.audio()
	if err != nil {
		return err
	}
	m.Attributes = slices.DeleteFunc(m.Attributes, func(a Attribute) bool { return a.Flag && isDirection(a.Key) })
	m.Attributes = append(m.Attributes, Attribute{Key: string(d), Flag: true})
	return nil
}

// OnHold reports whether s, as an offer, puts the other side on hold:
// audio sendonly or inactive (RFC 3264), or an unspecified connection
// address 0.0.0.0 or :: (RFC 2543 style, still sent by older phones).
func (s *Session) OnHold() bool {
	m := s.Audio()
	if m == nil {
		return false
	}
	if d := s.Direction(); d == SendOnly || d == Inactive {
		return true
	}
	c, err := s.audioConnection(m)
	if err != nil {
		return false
	}
	a, err := c.Addr()
	return err == nil && a.IsUnspecified()
}
