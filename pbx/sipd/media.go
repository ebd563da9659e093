package sipd

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"pbxha/pbx/sdp"
)

// Side names a call's leg: the caller's (A, where we are the UAS) or the
// callee's (B, where we are the UAC).
type Side int

// The two legs.
const (
	Caller Side = iota
	Callee
)

func (s Side) String() string {
	if s == Caller {
		return "caller"
	}
	return "callee"
}

// Other is the opposite leg.
func (s Side) Other() Side { return 1 - s }

// MediaFactory allocates the RTP relay of one call on the PBX's address.
// latched is called, without blocking, whenever the relay latches onto a
// phone's real source address, so that the call journals it.
type MediaFactory interface {
	Allocate(callID string, latched func()) (Relay, error)
}

// Relay anchors one call's audio: each leg's phone sends RTP to its own
// even port on the PBX (RTCP on the next odd one), and the relay forwards
// to the other leg's phone, latching onto the address packets really come
// from (symmetric RTP).
type Relay interface {
	// Local is the relay's RTP address for side's phone.
	Local(side Side) netip.AddrPort
	// SetPeer is where side's phone asked, in its SDP, to receive RTP and
	// RTCP; port 0 stops sending to it.
	SetPeer(side Side, p Peer)
	// Latched is where the relay sends side's audio after latching onto
	// the source the phone really sends from when that is not the address
	// in its SDP (a NAT's public side); zero addresses otherwise.
	Latched(side Side) Peer
	// Latch restores a journaled latch, after SetPeer, so that a restored
	// call reaches a phone behind NAT at once and accepts its packets
	// without a new probation.
	Latch(side Side, p Peer)
	// Record starts recording the call's audio, both directions, into
	// name (a path relative to the PBX's data directory), with origin as
	// the recording's time zero; a restored relay records again into the
	// journaled name, appending. Close ends the recording.
	Record(name string, origin time.Time) error
	// Close releases the ports.
	Close() error
}

// Peer is where a phone wants its audio, from its SDP.
type Peer struct{ RTP, RTCP netip.AddrPort }

// codecs are the audio formats the relay carries.
var codecs = []string{sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent}

// anchor rewrites a description the from-side phone sent into the one the
// other leg's phone gets: audio only, PCMU/PCMA (+ DTMF events), pointed at
// the relay port of the other side, with that leg's own origin whose version
// grows with each new description. It returns the rewritten body and where
// the sender wants to receive audio (port 0 when it disabled the stream).
func anchor(body []byte, relay Relay, from Side, prevOut []byte) ([]byte, Peer, error) {
	var peer Peer
	s, err := sdp.Parse(body)
	if err != nil {
		return nil, peer, fmt.Errorf("parse sdp: %w", err)
	}
	if err := s.FilterAudio(codecs...); err != nil {
		return nil, peer, fmt.Errorf("sdp codecs: %w", err)
	}
	if peer.RTP, err = s.AudioEndpoint(); err == nil {
		peer.RTCP, err = s.AudioRTCPEndpoint()
	}
	if err != nil {
		return nil, peer, fmt.Errorf("sdp audio: %w", err)
	}
	s.RejectOtherMedia()
	local := relay.Local(from.Other())
	if err := s.SetAudioEndpoint(local.Addr(), int(local.Port())); err != nil {
		return nil, peer, fmt.Errorf("sdp rewrite: %w", err)
	}
	s.Origin = nextOrigin(prevOut, local.Addr())
	return s.Marshal(), peer, nil
}

// nextOrigin continues the o= line of the last description sent on a leg,
// or starts a new one.
func nextOrigin(prevOut []byte, addr netip.Addr) sdp.Origin {
	if prev, err := sdp.Parse(prevOut); err == nil && len(prevOut) > 0 {
		return prev.Origin.Next()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	at := "IP4"
	if addr.Is6() {
		at = "IP6"
	}
	return sdp.Origin{Username: "pbxha", SessionID: strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])>>1), 10),
		Version: 1, NetType: "IN", AddrType: at, Address: addr.String()}
}
