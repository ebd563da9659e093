package sipd

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"
)

func (s *Server) endpoint() endpoint { return endpoint{ip: s.addr.IP, port: s.addr.Port} }

// transact sends a prebuilt request and waits for its final response,
// bounded by the transaction timers (Timer B/F: 64*T1).
func (s *Server) transact(req *sip.Request) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1+time.Second)
	defer cancel()
	return s.cli.Do(ctx, req, prebuilt)
}

// send is transact for requests whose answer changes nothing (BYE, CANCEL).
func (s *Server) send(req *sip.Request) {
	if _, err := s.transact(req); err != nil {
		s.log.Debug("request failed", "method", req.Method, "call-id", req.CallID().Value(), "err", err)
	}
}
