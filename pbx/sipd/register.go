package sipd

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// onRegister is the registrar (RFC 3261 10.3): authenticate, check that the
// user registers itself, apply the Contact changes and answer 200 with the
// live bindings only once they are durable.
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	ctx := context.Background()
	to, cseq, callID := req.To(), req.CSeq(), req.CallID()
	if to == nil || cseq == nil || callID == nil || to.Address.User == "" {
		s.reply(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	u, ok := s.authenticate(ctx, req, tx, registrarAuth)
	user := u.Ext
	if !ok {
		return
	}
	if user != to.Address.User {
		s.reply(tx, req, sip.StatusForbidden, "Forbidden: may only register oneself")
		return
	}
	now := time.Now()
	reg, code, reason := s.parseRegistration(req, now)
	if code != 0 {
		hdrs := []sip.Header{}
		if code == sip.StatusIntervalToBrief {
			hdrs = append(hdrs, sip.NewHeader("Min-Expires", strconv.Itoa(s.cfg.Expires.Min)))
		}
		s.reply(tx, req, code, reason, hdrs...)
		return
	}
	reg.Ext, reg.CallID, reg.CSeq = user, callID.Value(), cseq.SeqNo
	bs, err := s.cfg.Store.Register(ctx, reg, now)
	if errors.Is(err, store.ErrOutOfOrder) {
		s.reply(tx, req, sip.StatusInternalServerError, "Out Of Order REGISTER")
		return
	}
	if err != nil {
		s.log.Error("register", "ext", user, "err", err)
		s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, b := range bs {
		var c sip.ContactHeader
		if err := sip.ParseUri(b.Contact, &c.Address); err != nil {
			continue // stored from a parsed header: cannot happen
		}
		c.Params = sip.NewParams()
		c.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second).Seconds())))
		res.AppendHeader(&c)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	s.respond(tx, res)
}

// parseRegistration reads the Contact and Expires headers. A non-zero code
// is the error response to send.
func (s *Server) parseRegistration(req *sip.Request, now time.Time) (store.Registration, int, string) {
	var reg store.Registration
	defExp := s.cfg.Expires.Default
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.Atoi(h.Value())
		if err != nil || v < 0 {
			return reg, sip.StatusBadRequest, "Bad Expires"
		}
		defExp = v
	}
	hs := req.GetHeaders("Contact")
	for _, h := range hs {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return reg, sip.StatusBadRequest, "Bad Contact"
		}
		if c.Address.Wildcard {
			if len(hs) != 1 || defExp != 0 {
				return reg, sip.StatusBadRequest, "Wildcard Contact Needs Expires: 0 Alone"
			}
			reg.RemoveAll = true
			return reg, 0, ""
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return reg, sip.StatusBadRequest, "Bad Contact Expires"
			}
			exp = n
		}
		if exp > 0 && exp < s.cfg.Expires.Min {
			return reg, sip.StatusIntervalToBrief, "Interval Too Brief"
		}
		exp = min(exp, s.cfg.Expires.Max)
		reg.Contacts = append(reg.Contacts, store.Binding{
			Contact:   c.Address.String(),
			Expires:   now.Add(time.Duration(exp) * time.Second),
			Received:  req.Source(),
			NAT:       behindNAT(req, c.Address),
			Transport: req.Transport(),
			UserAgent: headerValue(req, "User-Agent"),
		})
	}
	return reg, 0, ""
}

func headerValue(m *sip.Request, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// behindNAT tells whether contact cannot be trusted as an address to reach
// the phone: the phone's own idea of its address (Contact host, top Via
// sent-by) differs from where the request really came from.
func behindNAT(req *sip.Request, contact sip.Uri) bool {
	src, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return true
	}
	if contact.Host != src {
		return true
	}
	via := req.Via()
	port := via.Port
	if port == 0 {
		port = 5060
	}
	return via.Host != src || net.JoinHostPort(via.Host, strconv.Itoa(port)) != req.Source()
}
