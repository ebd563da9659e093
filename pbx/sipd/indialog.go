package sipd

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// onInfo relays an INFO (RFC 6086: DTMF, media control) in an established
// call to the other leg and passes its final status back.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c, side, ok := s.inDialogRequest(req, tx)
	if !ok {
		return
	}
	s.relay(req, tx, c, side)
}

// onUpdate relays an UPDATE (RFC 3311) in an established call: with a body
// it is an offer, relayed like a re-INVITE (relayOffer, reinvite.go);
// without one (a session timer refresh) it is passed on like an INFO. Both
// refresh the sender's remote target. UPDATE in an early dialog, before the
// answer, is not supported: 501 to the caller; a callee's early legs are
// not in the call table, so its early UPDATE gets 481.
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if s.early(req) {
		s.reply(tx, req, sip.StatusNotImplemented, "UPDATE Before Answer Not Supported")
		return
	}
	c, side, ok := s.inDialogRequest(req, tx)
	if !ok {
		return
	}
	if len(req.Body()) > 0 {
		s.relayOffer(req, tx, c, side)
		return
	}
	s.relay(req, tx, c, side)
}

// early reports whether req belongs to a call that is not answered yet.
func (s *Server) early(req *sip.Request) bool {
	if req.CallID() == nil {
		return false
	}
	l, ok := s.calls.find(req.CallID().Value())
	if !ok {
		return false
	}
	l.call.mu.Lock()
	defer l.call.mu.Unlock()
	return l.call.rec.State < Answered
}

// Headers relayed with a request's body, and with a final response: what
// the other side needs to act on it (RFC 6086 4.2.2, 469 with Recv-Info;
// 415 with Accept; 491 and 500 with Retry-After).
var (
	requestHeaders  = []string{"Info-Package", "Content-Disposition"}
	responseHeaders = []string{"Recv-Info", "Accept", "Retry-After"}
)

// relay passes req (an INFO, an UPDATE without offer) to the other leg as a
// new request built from our dialog state, with the same body, Content-Type
// and requestHeaders, and its final status back to the sender. Both legs'
// CSeqs are journaled before it leaves, so that a restored call never
// reuses one; an UPDATE's remote targets are journaled again on its 2xx.
func (s *Server) relay(req *sip.Request, tx sip.ServerTransaction, c *Call, side Side) {
	refresh := req.Method == sip.UPDATE // a target refresh request (RFC 3311 5.1)
	ctype := ""
	if h := req.ContentType(); h != nil {
		ctype = h.Value()
	}
	c.mu.Lock()
	from, to := c.dialog(side), c.dialog(side.Other())
	if ct := req.Contact(); refresh && ct != nil {
		from.RemoteTarget = ct.Address.String()
	}
	out, err := to.requestWith(s.endpoint(), req.Method, 0, ctype, req.Body())
	if err == nil {
		copyHeaders(out, req, requestHeaders)
		err = c.journal()
	}
	c.mu.Unlock()
	if err != nil {
		s.refuse(tx, req, c, err)
		return
	}
	res, err := s.transact(out)
	if err != nil || !res.IsSuccess() || !refresh {
		s.passBack(tx, req, res, err)
		return
	}
	c.mu.Lock()
	if ct := res.Contact(); ct != nil {
		to.RemoteTarget = ct.Address.String()
	}
	err = c.journal()
	c.mu.Unlock()
	if err != nil {
		s.refuse(tx, req, c, err)
		return
	}
	s.passBack(tx, req, res, nil, s.endpoint().contact())
}

// errEnded: the call ended while a request was being relayed.
var errEnded = errors.New("call ended")

// journal tells the observer the call's current state (CSeqs, remote
// targets, descriptions) before a message that depends on it leaves. An
// ended call has told it Ended already and is not recorded again.
// Callers hold mu.
func (c *Call) journal() error {
	if c.rec.State == Ended {
		return errEnded
	}
	return c.transition(c.rec.State)
}

// refuse answers a request whose relay failed on our side: 481 once the call
// has ended, 500 otherwise.
func (s *Server) refuse(tx sip.ServerTransaction, req *sip.Request, c *Call, err error) {
	if errors.Is(err, errEnded) {
		s.reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	s.log.Error("relay "+req.Method.String(), "call", c.rec.ID, "err", err)
	s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
}

// passBack answers req with the final response res of the request relayed
// for it (408 when none came: err), its responseHeaders and hdrs.
func (s *Server) passBack(tx sip.ServerTransaction, req *sip.Request, res *sip.Response, err error, hdrs ...sip.Header) {
	if err != nil {
		s.log.Debug("relayed request failed", "method", req.Method, "call-id", req.CallID().Value(), "err", err)
		s.reply(tx, req, sip.StatusRequestTimeout, "Request Timeout")
		return
	}
	out := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil)
	copyHeaders(out, res, responseHeaders)
	for _, h := range hdrs {
		out.AppendHeader(h)
	}
	s.respond(tx, out)
}

// copyHeaders appends to dst every src header named in names.
func copyHeaders(dst, src sip.Message, names []string) {
	for _, n := range names {
		for _, h := range src.GetHeaders(n) {
			dst.AppendHeader(sip.HeaderClone(h))
		}
	}
}
