package sipd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

const testRealm = "pbx.test"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func init() { sip.SetDefaultLogger(quiet) }

// freeAddr returns a loopback address whose port is free for UDP and TCP.
func freeAddr(t testing.TB) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

type pbx struct {
	srv   *Server
	store *store.Store
	addr  string
	obs   *recorder
}

// startPBX runs a Server on loopback with users 100..400 (password pw<ext>).
func startPBX(t *testing.T, mod func(*Config)) *pbx {
	t.Helper()
	dir := t.TempDir()
	if err := store.Init(dir, testRealm); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"100", "200", "300", "400"} {
		if err := st.AddUser(context.Background(), store.User{Ext: ext,
			HA1MD5: auth.HA1(auth.MD5, ext, testRealm, "pw"+ext), HA1SHA256: auth.HA1(auth.SHA256, ext, testRealm, "pw"+ext)}); err != nil {
			t.Fatal(err)
		}
	}
	obs := &recorder{}
	cfg := Config{Listen: freeAddr(t), Realm: testRealm, Store: st, Logger: quiet, Media: &fakeMedia{}, Observer: obs}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, 2*time.Second); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return &pbx{srv: srv, store: st, addr: srv.Addr().String(), obs: obs}
}

// recorder is a CallObserver that keeps every record it was told, in
// order, whether waited for or not; with fail set Changed refuses them, as
// a full disk would.
type recorder struct {
	mu     sync.Mutex
	states []State
	recs   []CallRecord
	ended  []string
	fail   bool
}

func (r *recorder) Changed(c CallRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("journal: disk full")
	}
	r.states = append(r.states, c.State)
	r.recs = append(r.recs, c)
	return nil
}

func (r *recorder) ChangedLater(c CallRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, c.State)
	r.recs = append(r.recs, c)
}

func (r *recorder) last() CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recs[len(r.recs)-1]
}

func (r *recorder) failing(f bool) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

func (r *recorder) Ended(id string) {
	r.mu.Lock()
	r.ended = append(r.ended, id)
	r.mu.Unlock()
}

// fakeMedia hands out relay addresses without moving RTP: the signalling
// tests only check that SDP points at the relay.
type fakeMedia struct {
	mu         sync.Mutex
	next       uint16
	open       int
	failRecord error                // what Record returns
	recording  map[string]time.Time // names Record was called with, and their origins
	last       *fakeRelay           // the relay allocated last
	latched    func()               // its latch callback
}

type fakeRelay struct {
	m       *fakeMedia
	base    uint16
	peers   [2]Peer
	latches [2]Peer
}

func (r *fakeRelay) Record(name string, origin time.Time) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.m.failRecord != nil {
		return r.m.failRecord
	}
	if r.m.recording == nil {
		r.m.recording = map[string]time.Time{}
	}
	r.m.recording[name] = origin
	return nil
}

func (f *fakeMedia) Allocate(_ string, latched func()) (Relay, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next += 4
	f.open++
	f.last, f.latched = &fakeRelay{m: f, base: 40000 + f.next}, latched
	return f.last, nil
}

func (f *fakeMedia) active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (r *fakeRelay) Local(s Side) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), r.base+2*uint16(s))
}
func (r *fakeRelay) SetPeer(s Side, p Peer) { r.peers[s] = p }
func (r *fakeRelay) Latched(s Side) Peer {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	return r.latches[s]
}
func (r *fakeRelay) Latch(s Side, p Peer) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.latches[s] = p
}
func (r *fakeRelay) Close() error {
	r.m.mu.Lock()
	r.m.open--
	r.m.mu.Unlock()
	return nil
}

// phone is a sipgo-based test UA bound to its own loopback port.
type phone struct {
	t      *testing.T
	ext    string
	pw     string
	addr   string
	pbx    string
	ua     *sipgo.UserAgent
	cli    *sipgo.Client
	srv    *sipgo.Server
	callee atomic.Pointer[callee]
}

func newPhone(t *testing.T, ext, pbxAddr string) *phone {
	t.Helper()
	addr := freeAddr(t)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testphone-" + ext))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(quiet), sipgo.WithClientConnectionAddr(addr), sipgo.WithClientAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, ext: ext, pw: "pw" + ext, addr: addr, pbx: pbxAddr, ua: ua, cli: cli, srv: srv}
	p.serveCallee()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			close(ready)
			t.Error(err)
			return
		}
		go func() { <-ctx.Done(); conn.Close() }()
		close(ready)
		srv.ServeUDP(conn)
	}()
	<-ready
	t.Cleanup(func() { cancel(); ua.Close() })
	// The listener joins the transport's pool inside ServeUDP: wait for it,
	// or the client would try to bind the same port itself.
	for i := 0; i < 100; i++ {
		if c, _ := ua.TransportLayer().GetConnection("udp", addr); c != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p
}

func (p *phone) uri(user string) sip.Uri {
	h, port, _ := sip.ParseAddr(p.pbx)
	return sip.Uri{Scheme: "sip", User: user, Host: h, Port: port}
}

func (p *phone) contact() *sip.ContactHeader {
	h, port, _ := sip.ParseAddr(p.addr)
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.ext, Host: h, Port: port}}
}

// do sends req and, if challenged, once more with credentials.
func (p *phone) do(req *sip.Request, pw string) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		res, err = p.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.ext, Password: pw})
		if err != nil {
			p.t.Fatalf("%s with auth: %v", req.Method, err)
		}
	}
	return res
}

// register sends a REGISTER for p with the given Expires and credentials.
func (p *phone) register(expires int, pw string) *sip.Response {
	p.t.Helper()
	req := p.registerRequest(p.ext)
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	req.AppendHeader(sip.NewHeader("User-Agent", "testphone-"+p.ext))
	return p.do(req, pw)
}

// registerRequest is a REGISTER of p's contact for user.
func (p *phone) registerRequest(user string) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, p.uri(""))
	from := &sip.FromHeader{Address: p.uri(user), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&sip.ToHeader{Address: p.uri(user)})
	req.AppendHeader(from)
	req.AppendHeader(p.contact())
	return req
}
