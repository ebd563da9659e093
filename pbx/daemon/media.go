package daemon

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"pbxha/pbx/media"
	"pbxha/pbx/sipd"
)

// relays allocates each call's relay from one port pool on the SIP address
// and totals the packets relayed by finished calls.
type relays struct {
	pool   *media.Pool
	totals *[2]atomic.Uint64 // RTP packets relayed from the caller, from the callee
}

func newMedia(ip netip.Addr, low, high int) (relays, error) {
	pool, err := media.NewPool(ip, low, high)
	if err != nil {
		return relays{}, err
	}
	return relays{pool: pool, totals: new([2]atomic.Uint64)}, nil
}

// RTPTotals counts RTP packets relayed by calls that have ended.
type RTPTotals struct {
	FromCaller uint64 `json:"from_caller"`
	FromCallee uint64 `json:"from_callee"`
}

func (f relays) rtpTotals() RTPTotals {
	return RTPTotals{FromCaller: f.totals[0].Load(), FromCallee: f.totals[1].Load()}
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
	return relay{r: media.NewRelay(a, b, media.Options{}), totals: f.totals}, nil
}

// relay maps sipd's legs onto media's: the caller is A, the callee B.
type relay struct {
	r      *media.Relay
	totals *[2]atomic.Uint64
}

func side(s sipd.Side) media.Side {
	if s == sipd.Caller {
		return media.A
	}
	return media.B
}

func (r relay) Local(s sipd.Side) netip.AddrPort { return r.r.Local(side(s)) }
func (r relay) SetPeer(s sipd.Side, p sipd.Peer) { r.r.SetPeer(side(s), p.RTP, p.RTCP) }

// Close stops the relay and adds its packet counts to the totals.
func (r relay) Close() error {
	err := r.r.Close() // waits for the forwarders: the counts are final
	st := r.r.Stats()
	r.totals[0].Add(st.From[media.A].RTPPackets)
	r.totals[1].Add(st.From[media.B].RTPPackets)
	return err
}
