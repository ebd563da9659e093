package sipd

import (
	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// onBye ends a call from either side: 200 to the sender, BYE on the other
// leg built from our dialog state, then the relay is released and the CDR
// written.
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c, side, ok := s.inDialogRequest(req, tx)
	if !ok {
		return
	}
	s.reply(tx, req, sip.StatusOK, "OK")
	c.hangup(side.Other(), side.String())
}

// inDialogRequest finds the call and leg an in-dialog request belongs to and
// checks its CSeq; otherwise it answers 481 or 500 itself.
func (s *Server) inDialogRequest(req *sip.Request, tx sip.ServerTransaction) (*Call, Side, bool) {
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.reply(tx, req, sip.StatusBadRequest, "Bad Request")
		return nil, 0, false
	}
	l, ok := s.calls.find(req.CallID().Value())
	if !ok {
		s.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return nil, 0, false
	}
	c := l.call
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dialog(l.side)
	if !d.matches(req) || c.rec.State < Answered {
		s.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return nil, 0, false
	}
	if seq := req.CSeq().SeqNo; seq <= d.RemoteCSeq {
		s.reply(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
		return nil, 0, false
	} else {
		d.RemoteCSeq = seq
	}
	return c, l.side, true
}

// hangup sends BYE on the target leg (on both when the PBX itself ends the
// call) and finishes the call.
func (c *Call) hangup(target Side, by string) {
	c.hangupAs(target, by, store.Answered, sip.StatusOK)
}

// hangupAs is hangup with the CDR's disposition and SIP status (restore.go:
// calls ended after a restart).
func (c *Call) hangupAs(target Side, by, disposition string, status int) {
	s := c.srv
	sides := []Side{target}
	if by == "pbx" {
		sides = []Side{Caller, Callee}
	}
	var byes []*sip.Request
	c.mu.Lock()
	if c.rec.State == Ended {
		c.mu.Unlock()
		return
	}
	for _, sd := range sides {
		bye, err := c.dialog(sd).request(s.endpoint(), sip.BYE, 0, nil)
		if err != nil {
			s.log.Warn("hangup", "call", c.rec.ID, "leg", sd, "err", err)
			continue
		}
		byes = append(byes, bye)
	}
	c.mu.Unlock()
	for _, b := range byes {
		go s.send(b)
	}
	c.finish(disposition, status, by)
}
