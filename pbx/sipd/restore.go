package sipd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/sdp"
	"pbxha/pbx/store"
)

// DispositionRTPTimeout is the CDR disposition of a restored call that no
// RTP arrived for after the restart: it ended (its BYE lost) while the PBX
// was down, or both phones went silent for RestoreOptions.RTPTimeout.
const DispositionRTPTimeout = "RTP TIMEOUT"

// MediaRestorer is a MediaFactory that can take back, after a restart, the
// relay ports of a call that was up: the same address and ports, so that
// phones that keep sending to them are relayed again without signalling.
type MediaRestorer interface {
	Restore(rec CallRecord, latched func()) (Relay, error)
}

// rtpClock is a Relay that knows when RTP last arrived from either phone.
type rtpClock interface {
	LastRTP() time.Time
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// RTPTimeout ends a restored call with DispositionRTPTimeout when no
	// RTP has arrived from either phone for this long. Default 30 s.
	RTPTimeout time.Duration
	// Reinvite sends each leg of every restored call a re-INVITE with its
	// last description under a new o= version, for phones behind NAT or on
	// TCP whose connection died with the PBX.
	Reinvite bool
}

// Restore rebuilds the calls of a previous run from their journaled
// records, before Serve. Confirmed calls get their dialogs back, built from
// the records alone (not sipgo's dialog caches), and their relay re-bound
// on the same ports; they keep their start and answer times, so their CDR
// covers the whole call. Calls that were still ringing are ended with a
// FAILED CDR; calls answered but never acknowledged are hung up on both
// legs. Hang-ups, re-INVITEs and the RTP timeout start once the server
// listens, and stop with ctx.
func (s *Server) Restore(ctx context.Context, recs []CallRecord, o RestoreOptions) error {
	if o.RTPTimeout <= 0 {
		o.RTPTimeout = 30 * time.Second
	}
	began := time.Now()
	mr, _ := s.cfg.Media.(MediaRestorer)
	var restored, hangups []*Call
	var errs []error
	for _, rec := range recs {
		c := &Call{srv: s, rec: rec, acked: make(chan struct{})}
		close(c.acked)
		switch {
		case rec.State < Answered:
			c.finish(store.Failed, 0, "pbx") // no final response can reach the caller any more
		case rec.State == Answered:
			hangups = append(hangups, c) // the caller's ACK never came: not an established call
		case mr == nil:
			errs = append(errs, fmt.Errorf("call %s: media factory cannot restore relays", rec.ID))
			hangups = append(hangups, c)
		default:
			if err := c.restore(mr); err != nil {
				errs = append(errs, err)
				hangups = append(hangups, c)
				continue
			}
			restored = append(restored, c)
		}
	}
	s.log.Info("calls restored", "restored", len(restored), "to hang up", len(hangups),
		"ended", len(recs)-len(restored)-len(hangups), "took", time.Since(began))
	go s.afterRestore(ctx, restored, hangups, o)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sipd: restore: %w", err)
	}
	return nil
}

// restore re-binds c's relay, points it at both phones' last descriptions
// and their journaled latches, and puts both legs in the call table.
func (c *Call) restore(mr MediaRestorer) error {
	relay, err := mr.Restore(c.rec, c.latched)
	if err != nil {
		return fmt.Errorf("call %s: relay: %w", c.rec.ID, err)
	}
	for side, latch := range [2]Peer{c.rec.LatchA, c.rec.LatchB} {
		if p, err := peerOf(c.dialog(Side(side)).RemoteSDP); err == nil {
			relay.SetPeer(Side(side), p)
		}
		relay.Latch(Side(side), latch)
	}
	c.relay = relay
	c.srv.calls.add(c.rec.A.CallID, c, Caller)
	c.srv.calls.add(c.rec.B.CallID, c, Callee)
	return nil
}

// afterRestore runs once the server listens: it hangs up the calls that
// could not be restored, re-offers media if asked, then ends restored calls
// whose phones send no more RTP.
func (s *Server) afterRestore(ctx context.Context, restored, hangups []*Call, o RestoreOptions) {
	select {
	case <-s.Ready():
	case <-ctx.Done():
		return
	}
	for _, c := range hangups {
		c.end(store.Failed, sip.StatusServiceUnavailable)
	}
	if o.Reinvite {
		for _, c := range restored {
			go func() { // one offer at a time per call (RFC 3261 14.2)
				c.reofferLeg(Caller)
				c.reofferLeg(Callee)
			}()
		}
	}
	s.watchRTP(ctx, restored, o.RTPTimeout)
}

// end hangs up both legs, with disposition in the CDR.
func (c *Call) end(disposition string, status int) {
	c.hangupAs(Caller, "pbx", disposition, status)
}

// watchRTP ends each call of calls that no RTP arrived for within timeout,
// until all of them are over.
func (s *Server) watchRTP(ctx context.Context, calls []*Call, timeout time.Duration) {
	t := time.NewTicker(timeout / 4)
	defer t.Stop()
	for len(calls) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-t.C:
		}
		calls = slices.DeleteFunc(calls, func(c *Call) bool {
			c.mu.Lock()
			st := c.rec.State
			clock, ok := c.relay.(rtpClock)
			c.mu.Unlock()
			if st == Ended {
				return true
			}
			if ok && time.Since(clock.LastRTP()) > timeout {
				s.log.Info("restored call: no RTP, hanging up", "call", c.rec.ID, "timeout", timeout)
				c.end(DispositionRTPTimeout, sip.StatusRequestTimeout)
				return true
			}
			return false
		})
	}
}

// reofferLeg sends side's phone its last description again under a new o=
// version (RFC 3264 8), so it re-learns the relay through a NAT or a new
// TCP connection. Its CSeq is journaled before the request leaves.
func (c *Call) reofferLeg(side Side) {
	s := c.srv
	c.mu.Lock()
	if c.rec.State != Confirmed || c.reoffer || c.relay == nil { // ended, busy, or shutting down
		c.mu.Unlock()
		return
	}
	d := c.dialog(side)
	body, err := refreshed(d.LocalSDP, c.relay.Local(side).Addr())
	var req *sip.Request
	if err == nil {
		req, err = d.request(s.endpoint(), sip.INVITE, 0, body)
	}
	if err == nil {
		d.InviteCSeq, d.LocalSDP = d.LocalCSeq, body
		err = c.transition(c.rec.State)
	}
	c.reoffer = err == nil
	c.mu.Unlock()
	if err != nil {
		s.log.Warn("restored call: re-INVITE", "call", c.rec.ID, "leg", side, "err", err)
		return
	}
	res, err := s.transact(req)

	c.mu.Lock()
	c.reoffer = false
	if err == nil && !res.IsSuccess() {
		err = fmt.Errorf("answered %d %s", res.StatusCode, res.Reason)
	}
	if err != nil {
		c.mu.Unlock()
		s.log.Warn("restored call: re-INVITE failed", "call", c.rec.ID, "leg", side, "err", err)
		return
	}
	if ct := res.Contact(); ct != nil {
		d.RemoteTarget = ct.Address.String()
	}
	if p, perr := peerOf(res.Body()); perr == nil && c.relay != nil {
		d.RemoteSDP = res.Body()
		c.relay.SetPeer(side, p)
	}
	ack, err := d.request(s.endpoint(), sip.ACK, d.InviteCSeq, nil)
	err = errors.Join(err, c.transition(c.rec.State))
	c.mu.Unlock()
	if ack != nil {
		_ = s.cli.WriteRequest(ack, prebuilt)
	}
	if err != nil {
		s.log.Warn("restored call: re-INVITE answer", "call", c.rec.ID, "leg", side, "err", err)
	}
}

// refreshed is prev, the last description sent on a leg, with the next
// origin version.
func refreshed(prev []byte, addr netip.Addr) ([]byte, error) {
	sess, err := sdp.Parse(prev)
	if err != nil {
		return nil, fmt.Errorf("last sdp sent: %w", err)
	}
	sess.Origin = nextOrigin(prev, addr)
	return sess.Marshal(), nil
}

// peerOf is where the sender of body wants its audio.
func peerOf(body []byte) (Peer, error) {
	var p Peer
	sess, err := sdp.Parse(body)
	if err == nil {
		p.RTP, err = sess.AudioEndpoint()
	}
	if err == nil {
		p.RTCP, err = sess.AudioRTCPEndpoint()
	}
	return p, err
}
