package sipd

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// onInvite starts a call (an INVITE outside a dialog) or re-offers media
// inside one (reinvite.go). A new call is authenticated with 407, routed to
// every binding of the callee and bridged through the relay.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Contact() == nil {
		s.reply(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	if inDialog(req) {
		s.onReinvite(req, tx)
		return
	}
	s.reply(tx, req, sip.StatusTrying, "Trying")
	ctx := context.Background()
	caller, ok := s.authenticate(ctx, req, tx, proxyAuth)
	if !ok {
		return
	}
	user := caller.Ext
	if req.From().Address.User != user {
		s.reply(tx, req, sip.StatusForbidden, "Forbidden: From is not the authenticated user")
		return
	}
	if _, exists := s.calls.find(req.CallID().Value()); exists {
		s.reply(tx, req, sip.StatusLoopDetected, "Loop Detected")
		return
	}
	callee := req.Recipient.User
	calleeUser, err := s.cfg.Store.User(ctx, callee)
	if err != nil {
		if errors.Is(err, store.ErrNoUser) {
			s.reply(tx, req, sip.StatusNotFound, "Not Found")
		} else {
			s.log.Error("invite: user lookup", "callee", callee, "err", err)
			s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		}
		return
	}
	bindings, err := s.cfg.Store.Lookup(ctx, callee, time.Now())
	if err != nil {
		s.log.Error("invite: location lookup", "callee", callee, "err", err)
		s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	if len(bindings) == 0 {
		s.reply(tx, req, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	}
	if s.cfg.Media == nil {
		s.reply(tx, req, sip.StatusServiceUnavailable, "No Media Relay")
		return
	}
	c := &Call{srv: s, acked: make(chan struct{}), recordIt: caller.Record || calleeUser.Record}
	relay, err := s.cfg.Media.Allocate(req.CallID().Value(), c.latched)
	if err != nil {
		s.log.Warn("invite: allocate relay", "err", err)
		s.reply(tx, req, sip.StatusServiceUnavailable, "Media Ports Exhausted")
		return
	}
	c.relay = relay
	c.rec = CallRecord{ID: req.CallID().Value(), Caller: user, Callee: callee, Start: time.Now(),
		A: uasDialog(req, sip.GenerateTagN(16))}
	offer, peer, err := anchor(req.Body(), relay, Caller, nil)
	if err != nil {
		relay.Close()
		s.reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	relay.SetPeer(Caller, peer)
	s.calls.add(c.rec.ID, c, Caller)
	c.ring(req, tx, bindings, offer)
}
