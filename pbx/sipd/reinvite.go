package sipd

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// onReinvite relays a mid-call offer (hold, resume, codec change) to the
// other leg: the offer is anchored on the relay, sent as a re-INVITE built
// from our dialog state, and its answer returned to the sender. One offer
// at a time per call (491 otherwise, RFC 3261 14.2).
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c, side, ok := s.inDialogRequest(req, tx)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.reoffer {
		c.mu.Unlock()
		s.reply(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	from, to := c.dialog(side), c.dialog(side.Other())
	if ct := req.Contact(); ct != nil {
		from.RemoteTarget = ct.Address.String()
	}
	offer, peer, err := anchor(req.Body(), c.relay, side, to.LocalSDP)
	if err != nil {
		c.mu.Unlock()
		s.reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	reinv, err := to.request(s.endpoint(), sip.INVITE, 0, offer)
	if err != nil {
		c.mu.Unlock()
		s.log.Error("re-invite", "call", c.rec.ID, "err", err)
		s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	to.InviteCSeq = to.LocalCSeq
	c.reoffer = true
	c.mu.Unlock()

	s.reply(tx, req, sip.StatusTrying, "Trying")
	res, err := s.transact(reinv)

	c.mu.Lock()
	c.reoffer = false
	if err != nil || !res.IsSuccess() {
		c.mu.Unlock()
		code, reason := sip.StatusRequestTimeout, "Request Timeout"
		if err == nil {
			code, reason = res.StatusCode, res.Reason
		}
		s.reply(tx, req, code, reason)
		return
	}
	if ct := res.Contact(); ct != nil {
		to.RemoteTarget = ct.Address.String()
	}
	ack, aerr := to.request(s.endpoint(), sip.ACK, to.InviteCSeq, nil)
	answer, apeer, err := anchor(res.Body(), c.relay, side.Other(), from.LocalSDP)
	if err == nil {
		c.relay.SetPeer(side, peer)
		c.relay.SetPeer(side.Other(), apeer)
		from.RemoteSDP, from.LocalSDP = req.Body(), answer
		to.LocalSDP, to.RemoteSDP = offer, res.Body()
		err = c.transition(c.rec.State)
	}
	c.mu.Unlock()
	if aerr == nil {
		_ = s.cli.WriteRequest(ack, prebuilt)
	}
	if err = errors.Join(aerr, err); err != nil {
		s.log.Warn("re-invite answer", "call", c.rec.ID, "err", err)
		s.reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	ok200 := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	ok200.AppendHeader(s.endpoint().contact())
	setBody(ok200, answer)
	s.respond(tx, ok200)
}
