package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"pbxha/pbx/media"
	"pbxha/pbx/sipd"
)

// relays allocates each call's relay from one port pool on the SIP address,
// records calls under the data directory and totals the packets relayed by
// finished calls.
type relays struct {
	pool   *media.Pool
	data   string // recordings are named relative to it
	log    *slog.Logger
	totals *[2]atomic.Uint64 // RTP packets relayed from the caller, from the callee
}

func newMedia(ip netip.Addr, low, high int, data string, log *slog.Logger) (relays, error) {
	pool, err := media.NewPool(ip, low, high)
	if err != nil {
		return relays{}, err
	}
	return relays{pool: pool, data: data, log: log, totals: new([2]atomic.Uint64)}, nil
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
func (f relays) Allocate(callID string, latched func()) (sipd.Relay, error) {
	a, err := f.pool.Allocate()
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", callID, err)
	}
	b, err := f.pool.Allocate()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("call %s: %w", callID, err)
	}
	return &relay{f: f, r: media.NewRelay(a, b, media.Options{OnLatch: latched})}, nil
}

// openRecording opens (or reopens, to append) a call's recording.
func (f relays) openRecording(name string, origin time.Time) (*media.Recorder, error) {
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("recording %q: not a path inside the data directory", name)
	}
	path := filepath.Join(f.data, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	return media.OpenRecorder(path, origin)
}

// relay maps sipd's legs onto media's (the caller is A, the callee B) and
// owns the call's recorder.
type relay struct {
	f      relays
	r      *media.Relay
	mu     sync.Mutex
	rec    *media.Recorder
	closed bool
}

func side(s sipd.Side) media.Side {
	if s == sipd.Caller {
		return media.A
	}
	return media.B
}

func (r *relay) Local(s sipd.Side) netip.AddrPort { return r.r.Local(side(s)) }
func (r *relay) SetPeer(s sipd.Side, p sipd.Peer) { r.r.SetPeer(side(s), p.RTP, p.RTCP) }
func (r *relay) Latch(s sipd.Side, p sipd.Peer)   { r.r.Latch(side(s), p.RTP, p.RTCP) }

// Latched is where leg s's audio goes after latching onto another address
// than the SDP's: zero for a direction not latched, or latched onto the
// SDP's own address (restoring that needs no journal write).
func (r *relay) Latched(s sipd.Side) sipd.Peer {
	st := r.r.State().Legs[side(s)]
	var p sipd.Peer
	if st.RTPLatched && st.RTP != st.SDPRTP {
		p.RTP = st.RTP
	}
	if st.RTCPLatched && st.RTCP != st.SDPRTCP {
		p.RTCP = st.RTCP
	}
	return p
}

// Record starts recording the call into name under the data directory.
func (r *relay) Record(name string, origin time.Time) error {
	rec, err := r.f.openRecording(name, origin)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec != nil || r.closed {
		return errors.Join(errors.New("recording: already recording, or the call is over"), rec.Close())
	}
	r.rec = rec
	r.r.Record(rec)
	return nil
}

// Close stops the relay, adds its packet counts to the totals and closes
// the recording once the relay has stopped writing to it.
func (r *relay) Close() error {
	err := r.r.Close() // waits for the forwarders: the counts are final
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return err
	}
	r.closed = true
	st := r.r.Stats()
	r.f.totals[0].Add(st.From[media.A].RTPPackets)
	r.f.totals[1].Add(st.From[media.B].RTPPackets)
	if r.rec != nil {
		err = errors.Join(err, r.rec.Close())
		r.rec = nil
	}
	return err
}
