package daemon

import (
	"fmt"
	"net/netip"

	"pbxha/pbx/media"
	"pbxha/pbx/sipd"
)

// relays allocates each call's relay from one port pool on the SIP address.
type relays struct{ pool *media.Pool }

func newMedia(ip netip.Addr, low, high int) (sipd.MediaFactory, error) {
	pool, err := media.NewPool(ip, low, high)
	if err != nil {
		return nil, err
	}
	return relays{pool}, nil
}

// Allocate binds two RTP/RTCP pairs, one per leg, and starts relaying.
func (f relays) Allocate(callID string) (sipd.Relay, error) {
	a, err := f.pool.Allocate()
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", callID, err)
	}
	b, err := f.pool.Allocate()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("call %s: %w", callID, err)
	}
	return relay{media.NewRelay(a, b, media.Options{})}, nil
}

// relay maps sipd's legs onto media's: the caller is A, the callee B.
type relay struct{ r *media.Relay }

func side(s sipd.Side) media.Side {
	if s == sipd.Caller {
		return media.A
	}
	return media.B
}

func (r relay) Local(s sipd.Side) netip.AddrPort { return r.r.Local(side(s)) }
func (r relay) SetPeer(s sipd.Side, p sipd.Peer) { r.r.SetPeer(side(s), p.RTP, p.RTCP) }
func (r relay) Close() error                     { return r.r.Close() }
