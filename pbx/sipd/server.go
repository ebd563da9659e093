// Package sipd is the PBX's SIP side on top of sipgo: the registrar, OPTIONS
// answering and the B2BUA that bridges two extensions. One file per method's
// handling (register.go, invite.go, ack.go, bye.go, cancel.go, options.go),
// reinvite.go for mid-call offers (re-INVITE, and UPDATE with SDP) and
// indialog.go for INFO and UPDATE; the call state machine lives in call.go
// and the dialog state of each leg, owned by us rather than by sipgo's
// dialog caches, in dialog.go.
package sipd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

// Config is what a Server needs.
type Config struct {
	Listen      string // IP:port; a wildcard address is refused
	Realm       string
	Store       *store.Store
	Media       MediaFactory  // RTP relay for calls; nil refuses INVITEs with 503
	Observer    CallObserver  // optional: told of each call state change before it is signalled
	Logger      *slog.Logger  // nil: slog.Default()
	NonceTTL    time.Duration // default 5 min
	NonceKey    []byte        // signs digest nonces; share it across failovers (store.NonceKey); nil: random
	RingTimeout time.Duration // how long a callee may ring; default 60 s
	UserAgent   string        // Server/User-Agent header; default "pbxha"
	RecvBuffer  int           // UDP SO_RCVBUF bytes; default 8 MiB
	Expires     ExpiresPolicy // registration limits
	DigestAlgs  []string      // challenge order; default SHA-256, MD5
}

// ExpiresPolicy bounds registration lifetimes (seconds).
type ExpiresPolicy struct {
	Min, Max, Default int
}

// Server is a running SIP endpoint on one address.
type Server struct {
	cfg    Config
	log    *slog.Logger
	auth   *auth.Verifier
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	cli    *sipgo.Client
	udp    *net.UDPConn
	tcp    *net.TCPListener
	addr   *net.UDPAddr
	calls  *callTable
	busy   inflight // request handlers running
	drain  atomic.Bool
	ready  chan struct{}
	closed chan struct{}
}

// New binds UDP and TCP on cfg.Listen (never a wildcard) and prepares the
// handlers; Serve starts answering.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("sipd: no store")
	}
	if cfg.Realm == "" {
		return nil, errors.New("sipd: empty realm")
	}
	setDefaults(&cfg)
	verifier, err := auth.New(cfg.Realm, cfg.NonceKey, cfg.NonceTTL, cfg.DigestAlgs...)
	if err != nil {
		return nil, fmt.Errorf("sipd: %w", err)
	}
	udp, tcp, err := listen(cfg.Listen, cfg.RecvBuffer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		auth:   verifier,
		udp:    udp,
		tcp:    tcp,
		addr:   udp.LocalAddr().(*net.UDPAddr),
		calls:  newCallTable(),
		ready:  make(chan struct{}),
		closed: make(chan struct{}),
	}
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(s.addr.IP.String()),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)))
	if err == nil {
		s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(cfg.Logger))
	}
	if err == nil {
		s.cli, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(cfg.Logger),
			sipgo.WithClientHostname(s.addr.IP.String()), sipgo.WithClientPort(s.addr.Port))
	}
	if err != nil {
		udp.Close()
		tcp.Close()
		return nil, fmt.Errorf("sipd: %w", err)
	}
	s.route()
	return s, nil
}

func setDefaults(c *Config) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NonceTTL == 0 {
		c.NonceTTL = 5 * time.Minute
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = 60 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "pbxha"
	}
	if c.RecvBuffer == 0 {
		c.RecvBuffer = 8 << 20
	}
	if c.Expires == (ExpiresPolicy{}) {
		c.Expires = ExpiresPolicy{Min: 60, Max: 7200, Default: 3600}
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

func (s *Server) route() {
	s.srv.OnRegister(s.handle(s.onRegister))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnInvite(s.handle(s.onInvite))
	s.srv.OnAck(s.handle(s.onAck))
	s.srv.OnBye(s.handle(s.onBye))
	s.srv.OnCancel(s.handle(s.onCancel))
	s.srv.OnInfo(s.handle(s.onInfo))
	s.srv.OnUpdate(s.handle(s.onUpdate))
	s.srv.OnNoRoute(s.handle(s.onUnsupported))
}

// handle counts in-flight handlers for graceful stop and turns away new
// dialog-creating work while draining.
func (s *Server) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.busy.enter()
		defer s.busy.leave()
		if s.drain.Load() && (req.Method == sip.INVITE && !inDialog(req) || req.Method == sip.REGISTER) {
			s.reply(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
			return
		}
		h(req, tx)
	}
}

// Addr is the bound SIP address (UDP and TCP share it).
func (s *Server) Addr() *net.UDPAddr { return s.addr }

// Serve answers requests until ctx ends, then stops gracefully: new calls and
// registrations get 503 while in-flight transactions finish (at most grace).
func (s *Server) Serve(ctx context.Context, grace time.Duration) error {
	errc := make(chan error, 2)
	go func() { errc <- s.srv.ServeUDP(s.udp) }()
	go func() { errc <- s.srv.ServeTCP(s.tcp) }()
	go s.waitListening()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("sipd serve: %w", err)
	}
	s.drain.Store(true)
	select {
	case <-s.busy.idle():
	case <-time.After(grace):
		s.log.Warn("graceful stop timed out; closing with transactions in flight", "grace", grace)
	}
	s.calls.closeAll()
	close(s.closed)
	s.udp.Close()
	s.tcp.Close()
	s.ua.Close()
	return err
}

// Ready is closed once both listeners serve (sipgo registers the UDP
// listener for outgoing requests only inside ServeUDP).
func (s *Server) Ready() <-chan struct{} { return s.ready }

func (s *Server) waitListening() {
	addr := s.addr.String()
	for {
		if c, _ := s.ua.TransportLayer().GetConnection("udp", addr); c != nil {
			close(s.ready)
			return
		}
		select {
		case <-s.closed:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// reply answers req on tx with a bare response.
func (s *Server) reply(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.respond(tx, res)
}

func (s *Server) respond(tx sip.ServerTransaction, res *sip.Response) {
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	if res.StatusCode >= 300 && res.CSeq() != nil && res.CSeq().MethodName == sip.INVITE {
		go absorbAck(tx)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "status", res.StatusCode, "err", err)
	}
}

// absorbAck takes the ACK of a non-2xx final response to an INVITE (a 407
// challenge, a 486...). sipgo hands it to the transaction's Acks channel
// and, when nobody reads it, parks a goroutine until the transaction ends
// (Timer I, 5 s): at a few hundred calls a second that was the largest
// population of goroutines in the process.
func absorbAck(tx sip.ServerTransaction) {
	select {
	case <-tx.Acks():
	case <-tx.Done():
	}
}

// onStrayResponse sees responses that match no transaction: a callee that
// still retransmits its 2xx after our INVITE transaction ended gets its
// ACK again.
func (s *Server) onStrayResponse(res *sip.Response) {
	if !res.IsSuccess() || res.CallID() == nil || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE {
		return
	}
	l, ok := s.calls.find(res.CallID().Value())
	if !ok || l.side != Callee {
		return
	}
	l.call.mu.Lock()
	br := l.call.answered
	l.call.mu.Unlock()
	if br != nil {
		l.call.reack(br)
	}
}

func (s *Server) onUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	s.reply(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", allow))
}

const allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"

func inDialog(req *sip.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	_, ok := to.Params.Get("tag")
	return ok
}

// inflight counts running handlers; unlike a WaitGroup it may be waited on
// while handlers still start.
type inflight struct {
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func (f *inflight) enter() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) leave() {
	f.mu.Lock()
	f.n--
	if f.n == 0 && f.done != nil {
		close(f.done)
		f.done = nil
	}
	f.mu.Unlock()
}

// idle is closed when no handler runs.
func (f *inflight) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	if f.n == 0 {
		close(ch)
	} else {
		f.done = ch
	}
	return ch
}
