package sipd

import "github.com/emiago/sipgo/sip"

// onCancel sees only CANCELs that match no pending INVITE: sipgo's
// transaction layer answers a matching CANCEL with 200, the INVITE with 487,
// and fires the OnCancel hook that ring (fork.go) turns into CANCELs on the
// callee legs.
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}
