package sipd

import "github.com/emiago/sipgo/sip"

// onOptions answers every OPTIONS with 200 without authentication: health
// checks (Pacemaker's monitor, load balancers) use it. In-dialog OPTIONS are
// answered the same way.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.reply(tx, req, sip.StatusOK, "OK",
		sip.NewHeader("Allow", allow),
		sip.NewHeader("Accept", "application/sdp"))
}
