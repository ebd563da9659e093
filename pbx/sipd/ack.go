package sipd

import "github.com/emiago/sipgo/sip"

// onAck confirms the caller's leg when it acknowledges our 2xx. ACKs of
// re-INVITE answers are absorbed: the PBX acknowledged the other leg itself.
// ACK gets no response; an ACK matching no dialog is dropped. Nothing waits
// for the confirmation to be journaled (it commits no message): a crash
// before the next group commit restores the call as answered, and hangs
// it up.
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
	c.note(Confirmed)
	close(c.acked)
}
