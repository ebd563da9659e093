package sipd

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// onReinvite relays a mid-call offer (hold, resume, codec change) to the
// other leg (relayOffer).
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c, side, ok := s.inDialogRequest(req, tx)
	if !ok {
		return
	}
	s.relayOffer(req, tx, c, side)
}

// relayOffer relays the SDP offer of a re-INVITE or an UPDATE (RFC 3311)
// from side's phone to the other leg: the offer is anchored on the relay,
// sent as the same method built from our dialog state (both legs' CSeqs
// journaled before it leaves), its answer anchored in turn, journaled and
// returned to the sender. The PBX acknowledges a re-INVITE's answer itself.
// Both methods refresh the remote target. One offer at a time per call
// (491 otherwise, RFC 3261 14.2, RFC 3311 5.2).
func (s *Server) relayOffer(req *sip.Request, tx sip.ServerTransaction, c *Call, side Side) {
	invite := req.Method == sip.INVITE
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
	offer, peer, err := c.anchor(req.Body(), side, to.LocalSDP)
	if err != nil {
		c.mu.Unlock()
		s.reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	out, err := to.request(s.endpoint(), req.Method, 0, offer)
	if err == nil {
		if invite {
			to.InviteCSeq = to.LocalCSeq
		}
		err = c.journal()
	}
	if err != nil {
		c.mu.Unlock()
		s.refuse(tx, req, c, err)
		return
	}
	c.reoffer = true
	c.mu.Unlock()

	if invite {
		s.reply(tx, req, sip.StatusTrying, "Trying")
	}
	res, err := s.transact(out)

	c.mu.Lock()
	c.reoffer = false
	if err != nil || !res.IsSuccess() {
		c.mu.Unlock()
		s.passBack(tx, req, res, err)
		return
	}
	if ct := res.Contact(); ct != nil {
		to.RemoteTarget = ct.Address.String()
	}
	var ack *sip.Request
	var aerr error
	if invite {
		ack, aerr = to.request(s.endpoint(), sip.ACK, to.InviteCSeq, nil)
	}
	answer, apeer, err := c.anchor(res.Body(), side.Other(), from.LocalSDP)
	if err == nil {
		c.relay.SetPeer(side, peer)
		c.relay.SetPeer(side.Other(), apeer)
		from.RemoteSDP, from.LocalSDP = req.Body(), answer
		to.LocalSDP, to.RemoteSDP = offer, res.Body()
		err = c.journal()
	}
	c.mu.Unlock()
	if ack != nil {
		_ = s.cli.WriteRequest(ack, prebuilt)
	}
	if err = errors.Join(aerr, err); err != nil {
		s.log.Warn("relayed offer's answer", "call", c.rec.ID, "method", req.Method, "err", err)
		s.reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	ok200 := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	ok200.AppendHeader(s.endpoint().contact())
	setBody(ok200, answer)
	s.respond(tx, ok200)
}

// anchor is anchor (media.go) on c's relay, which is gone once the server
// shuts down (callTable.closeAll). Callers hold mu.
func (c *Call) anchor(body []byte, from Side, prevOut []byte) ([]byte, Peer, error) {
	if c.relay == nil {
		return nil, Peer{}, errors.New("relay closed")
	}
	return anchor(body, c.relay, from, prevOut)
}
