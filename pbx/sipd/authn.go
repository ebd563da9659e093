package sipd

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

// authScheme names the header pair used to authenticate a request: a
// registrar challenges with 401/WWW-Authenticate, a proxy-like service
// (our B2BUA) with 407/Proxy-Authenticate.
type authScheme struct {
	code      int
	reason    string
	challenge string
	answer    string
}

var (
	registrarAuth = authScheme{sip.StatusUnauthorized, "Unauthorized", "WWW-Authenticate", "Authorization"}
	proxyAuth     = authScheme{sip.StatusProxyAuthRequired, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"}
)

// authenticate returns the authenticated user, or answers req itself (a
// challenge, 400 or 403) and returns ok=false.
func (s *Server) authenticate(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, sc authScheme) (u store.User, ok bool) {
	var hv string
	if h := req.GetHeader(sc.answer); h != nil {
		hv = h.Value()
	}
	_, err := s.auth.Verify(auth.Request{Method: string(req.Method), RequestURI: req.Recipient, Header: hv},
		func(user, alg string) (string, error) {
			var err error
			u, err = s.cfg.Store.User(ctx, user)
			if errors.Is(err, store.ErrNoUser) {
				return "", errors.Join(auth.ErrBadCredentials, err)
			}
			if err != nil {
				return "", err
			}
			if alg == auth.SHA256 {
				return u.HA1SHA256, nil
			}
			return u.HA1MD5, nil
		})
	switch {
	case err == nil:
		return u, true
	case errors.Is(err, auth.ErrNoCredentials):
		s.challenge(req, tx, sc, false)
	case errors.Is(err, auth.ErrStale), errors.Is(err, auth.ErrReplay):
		s.challenge(req, tx, sc, true)
	case errors.Is(err, auth.ErrMalformed), errors.Is(err, auth.ErrBadURI):
		s.log.Info("bad credentials", "method", req.Method, "src", req.Source(), "err", err)
		s.reply(tx, req, sip.StatusBadRequest, "Bad Request")
	case errors.Is(err, auth.ErrBadCredentials):
		s.log.Info("authentication failed", "method", req.Method, "src", req.Source(), "err", err)
		s.reply(tx, req, sip.StatusForbidden, "Forbidden")
	default:
		s.log.Error("authentication", "err", err)
		s.reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
	}
	return store.User{}, false
}

func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, sc authScheme, stale bool) {
	var hs []sip.Header
	for _, c := range s.auth.Challenges(stale) {
		hs = append(hs, sip.NewHeader(sc.challenge, c))
	}
	s.reply(tx, req, sc.code, sc.reason, hs...)
}
