package sipd

import "github.com/emiago/sipgo/sip"

// onAck confirms the caller's leg when it acknowledges our 2xx. ACKs of
// re-INVITE answers are absorbed: the PBX acknowledged the other leg itself.
// ACK gets no response; an ACK matching no dialog is dropped.
func (s *Server) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if req.CallID() == nil || req.From() == nil || req.To() == nil {
		return
	}
	l, ok := s.calls.find(req.CallID().Value())
	if !ok {
		return
	}
	c := l.call
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.side != Caller || !c.rec.A.matches(req) || c.rec.State != Answered {
		return
	}
	if err := c.transition(Confirmed); err != nil {
		s.log.Warn("observer", "call", c.rec.ID, "err", err)
	}
	close(c.acked)
}
