package sipd

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const dtmf = "Signal=5\r\nDuration=160"

// arrival is an INFO or UPDATE a phone got, with the last record the
// journal held when it arrived.
type arrival struct {
	req       *sip.Request
	journaled CallRecord
}

// party is one phone of a bridged call: it sends in-dialog requests and
// answers INFO with status, UPDATE with 200 (an SDP answer in kind to an
// offer, on port 7200, after release is closed when it is set).
type party struct {
	t       *testing.T
	ph      *phone
	j       *recorder
	build   func(method sip.RequestMethod, cseq uint32) *sip.Request
	cseq    uint32
	mu      sync.Mutex
	got     []arrival
	status  int
	release chan struct{}
}

// midPhone is a registered phone whose INFO and UPDATE handlers are set
// before its first transaction (the REGISTER), so its server sees them.
func midPhone(t *testing.T, p *pbx, j *recorder, ext string) *party {
	t.Helper()
	pt := &party{t: t, ph: newPhone(t, ext, p.addr), j: j, status: sip.StatusOK}
	pt.ph.srv.OnInfo(pt.serve)
	pt.ph.srv.OnUpdate(pt.serve)
	if res := pt.ph.register(3600, "pw"+ext); res.StatusCode != sip.StatusOK {
		t.Fatalf("register %s: %d", ext, res.StatusCode)
	}
	return pt
}

func (pt *party) serve(req *sip.Request, tx sip.ServerTransaction) {
	pt.mu.Lock()
	pt.got = append(pt.got, arrival{req, pt.j.last()})
	code, wait := pt.status, pt.release
	pt.mu.Unlock()
	var body []byte
	if req.Method == sip.UPDATE {
		if code = sip.StatusOK; wait != nil {
			<-wait
		}
		if dir := "sendrecv"; len(req.Body()) > 0 {
			if strings.Contains(string(req.Body()), "a=sendonly") {
				dir = "recvonly"
			}
			body = offerSDP(7200, dir)
		}
	}
	res := sip.NewResponseFromRequest(req, code, "", nil)
	if code == 469 {
		res.Reason = "Bad Info Package"
		res.AppendHeader(sip.NewHeader("Recv-Info", "foo"))
	}
	if req.Method == sip.UPDATE {
		res.AppendHeader(pt.ph.contact())
	}
	setBody(res, body)
	tx.Respond(res)
}

func (pt *party) set(status int, release chan struct{}) {
	pt.mu.Lock()
	pt.status, pt.release = status, release
	pt.mu.Unlock()
}

func (pt *party) arrivals() []arrival {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return append([]arrival(nil), pt.got...)
}

// next waits for the n-th request to reach pt.
func (pt *party) next(n int) arrival {
	pt.t.Helper()
	eventually(pt.t, "a request at "+pt.ph.ext, func() bool { return len(pt.arrivals()) >= n })
	return pt.arrivals()[n-1]
}

// request is the next in-dialog request pt sends: body of type ctype and
// extra headers.
func (pt *party) request(method sip.RequestMethod, ctype string, body []byte, hdrs ...sip.Header) *sip.Request {
	pt.cseq++
	req := pt.build(method, pt.cseq)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	setContent(req, ctype, body)
	return req
}

func (pt *party) do(req *sip.Request) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pt.ph.cli.Do(ctx, req)
}

func (pt *party) send(method sip.RequestMethod, ctype string, body []byte, hdrs ...sip.Header) *sip.Response {
	pt.t.Helper()
	res, err := pt.do(pt.request(method, ctype, body, hdrs...))
	if err != nil {
		pt.t.Fatalf("%s from %s: %v", method, pt.ph.ext, err)
	}
	return res
}

// bridged is a confirmed call 100 -> 200 between two midPhones.
type bridged struct {
	p            *pbx
	j            *recorder
	caller, peer *party
	oc           *outCall
	cb           *callee
}

func bridge(t *testing.T) *bridged {
	t.Helper()
	j := &recorder{}
	p := startPBX(t, func(c *Config) { c.Observer = j })
	b := &bridged{p: p, j: j, caller: midPhone(t, p, j, "100"), peer: midPhone(t, p, j, "200")}
	b.cb = b.peer.ph.answer(answerMode{code: sip.StatusOK})
	b.oc = b.caller.ph.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := b.oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d", res.StatusCode)
	}
	b.oc.ack()
	eventually(t, "call confirmed", func() bool { cs := p.srv.Calls(); return len(cs) == 1 && cs[0].State == Confirmed })
	b.caller.cseq = b.oc.inv.CSeq().SeqNo
	b.caller.build = func(m sip.RequestMethod, cseq uint32) *sip.Request { return b.oc.request(m, cseq, nil) }
	inv := b.cb.last(&b.cb.invites)
	b.peer.build = func(m sip.RequestMethod, cseq uint32) *sip.Request {
		req := sip.NewRequest(m, inv.Contact().Address)
		from := &sip.FromHeader{Address: inv.To().Address, Params: sip.NewParams()}
		from.Params.Add("tag", b.cb.tag)
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: inv.From().Address, Params: inv.From().Params.Clone()})
		req.AppendHeader(sip.HeaderClone(inv.CallID()))
		req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: m})
		req.AppendHeader(b.peer.ph.contact())
		return req
	}
	return b
}

// senders are the two directions of the tests: which phone sends.
var senders = []Side{Caller, Callee}

// sides returns the sending and receiving party.
func (b *bridged) sides(sender Side) (from, to *party) {
	if sender == Caller {
		return b.caller, b.peer
	}
	return b.peer, b.caller
}

// checkRelayed asserts that got is method in toLeg's dialog as the phone
// knows it, with the CSeq after before's, and that the journal held the
// new CSeqs of both legs (sent and relayed) before it arrived.
func checkRelayed(t *testing.T, got arrival, method sip.RequestMethod, before CallRecord, toLeg Side, sent *sip.Request) {
	t.Helper()
	req := got.req
	d := before.A
	if toLeg == Callee {
		d = before.B
	}
	ft, _ := req.From().Params.Get("tag")
	tt, _ := req.To().Params.Get("tag")
	if req.Method != method || req.CallID().Value() != d.CallID || req.CSeq().SeqNo != d.LocalCSeq+1 ||
		req.CSeq().MethodName != method || ft != d.LocalTag || tt != d.RemoteTag {
		t.Fatalf("relayed %s, want Call-ID %s CSeq %d, tags %s/%s:\n%s", method, d.CallID, d.LocalCSeq+1, d.LocalTag, d.RemoteTag, req)
	}
	j := got.journaled
	jTo, jFrom := j.A, j.B
	if toLeg == Callee {
		jTo, jFrom = j.B, j.A
	}
	if jTo.LocalCSeq != req.CSeq().SeqNo || jFrom.RemoteCSeq != sent.CSeq().SeqNo {
		t.Fatalf("journal before the %s arrived: local CSeq %d (want %d), remote CSeq %d (want %d)",
			method, jTo.LocalCSeq, req.CSeq().SeqNo, jFrom.RemoteCSeq, sent.CSeq().SeqNo)
	}
}

// refreshed is pt's Contact, marked so that requests sent to it can be
// told apart.
func (pt *party) refreshed() *sip.ContactHeader {
	c := pt.ph.contact()
	c.Address.UriParams = sip.NewParams()
	c.Address.UriParams.Add("refreshed", "1")
	return c
}

// checkRetargeted asserts that from's UPDATE with its refreshed Contact
// retargeted its leg: the INFO the other phone sends next reaches from at
// that URI.
func checkRetargeted(t *testing.T, from, to *party) {
	t.Helper()
	to.send(sip.INFO, "application/dtmf-relay", []byte(dtmf))
	if uri := from.next(1).req.Recipient; uri.UriParams == nil || !uri.UriParams.Has("refreshed") {
		t.Fatalf("INFO after the UPDATE sent to %s, want the refreshed Contact", uri.String())
	}
}

// pbxContact reports whether ct is the PBX's Contact.
func (b *bridged) pbxContact(ct *sip.ContactHeader) bool {
	return ct != nil && ct.Address.Port == b.p.srv.Addr().Port
}

func header(m sip.Message, name string) string {
	if h := m.GetHeaders(name); len(h) > 0 {
		return h[0].Value()
	}
	return ""
}

// TestInfoRelayed: INFO from either phone reaches the other in its own
// dialog (built from the PBX's leg: next CSeq, its tags and Call-ID) with
// the same body, Content-Type and Info-Package, journaled first; the
// sender gets the other phone's status, a 469 with its Recv-Info too.
func TestInfoRelayed(t *testing.T) {
	for _, sender := range senders {
		t.Run(sender.String()+" sends", func(t *testing.T) {
			b := bridge(t)
			from, to := b.sides(sender)
			toLeg := sender.Other()
			before := b.p.srv.Calls()[0]
			req := from.request(sip.INFO, "application/dtmf-relay", []byte(dtmf), sip.NewHeader("Info-Package", "dtmf"))
			res, err := from.do(req)
			if err != nil || res.StatusCode != sip.StatusOK {
				t.Fatalf("INFO: %v %v", res, err)
			}
			got := to.next(1)
			checkRelayed(t, got, sip.INFO, before, toLeg, req)
			if ct, ip := header(got.req, "Content-Type"), header(got.req, "Info-Package"); ct != "application/dtmf-relay" ||
				ip != "dtmf" || string(got.req.Body()) != dtmf {
				t.Fatalf("relayed INFO lost its content:\n%s", got.req)
			}

			to.set(469, nil)
			before = b.p.srv.Calls()[0]
			req = from.request(sip.INFO, "application/media_control+xml", []byte("<media_control/>"))
			res, err = from.do(req)
			if err != nil || res.StatusCode != 469 || res.Reason != "Bad Info Package" || header(res, "Recv-Info") != "foo" {
				t.Fatalf("INFO refused by the other phone: %v %v", res, err)
			}
			checkRelayed(t, to.next(2), sip.INFO, before, toLeg, req)
		})
	}
}

// TestUpdateOffer: UPDATE with SDP from either phone puts the call on hold
// and back like a re-INVITE: anchored offer to the other phone with the
// PBX's Contact and a growing o= version, its anchored answer to the
// sender, both peers set on the relay, no ACK; the sender's new Contact is
// the target of what the PBX sends it next.
func TestUpdateOffer(t *testing.T) {
	for _, sender := range senders {
		t.Run(sender.String()+" sends", func(t *testing.T) {
			b := bridge(t)
			from, to := b.sides(sender)
			toLeg := sender.Other()
			for i, step := range []struct{ send, otherGets, senderGets string }{
				{"sendonly", "a=sendonly", "a=recvonly"},
				{"sendrecv", "a=sendrecv", "a=sendrecv"},
			} {
				before := b.p.srv.Calls()[0]
				req := from.request(sip.UPDATE, "application/sdp", offerSDP(6100, step.send), from.refreshed())
				res, err := from.do(req)
				if err != nil || res.StatusCode != sip.StatusOK || !strings.Contains(string(res.Body()), step.senderGets) ||
					!strings.Contains(string(res.Body()), "m=audio 4000") || !b.pbxContact(res.Contact()) {
					t.Fatalf("UPDATE %s: %v\n%v", step.send, err, res)
				}
				got := to.next(i + 1)
				checkRelayed(t, got, sip.UPDATE, before, toLeg, req)
				if body := string(got.req.Body()); !strings.Contains(body, step.otherGets) || !strings.Contains(body, "m=audio 4000") ||
					!b.pbxContact(got.req.Contact()) {
					t.Fatalf("UPDATE to the other phone:\n%s", got.req)
				}
			}
			got := to.arrivals()
			if v1, v2 := originVersion(got[0].req), originVersion(got[1].req); v2 != v1+1 {
				t.Fatalf("o= versions to the other phone %d then %d, want +1", v1, v2)
			}
			l, _ := b.p.srv.calls.find(b.oc.inv.CallID().Value())
			l.call.mu.Lock()
			peers := l.call.relay.(*fakeRelay).peers
			l.call.mu.Unlock()
			if peers[sender].RTP.Port() != 6100 || peers[toLeg].RTP.Port() != 7200 {
				t.Fatalf("relay peers %v, want the sender's 6100 and the answerer's 7200", peers)
			}
			if n := b.cb.count(&b.cb.acks); n != 1 {
				t.Fatalf("callee got %d ACKs, want only the call's", n)
			}
			checkRetargeted(t, from, to)
		})
	}
}

// TestUpdateRefresh: an UPDATE without SDP (session timer) is passed on
// as is and its status returned, with the PBX's Contact; it refreshes the
// sender's target too.
func TestUpdateRefresh(t *testing.T) {
	for _, sender := range senders {
		t.Run(sender.String()+" sends", func(t *testing.T) {
			b := bridge(t)
			from, to := b.sides(sender)
			toLeg := sender.Other()
			before := b.p.srv.Calls()[0]
			req := from.request(sip.UPDATE, "", nil, from.refreshed())
			res, err := from.do(req)
			if err != nil || res.StatusCode != sip.StatusOK || len(res.Body()) != 0 || !b.pbxContact(res.Contact()) {
				t.Fatalf("UPDATE: %v\n%v", err, res)
			}
			got := to.next(1)
			checkRelayed(t, got, sip.UPDATE, before, toLeg, req)
			if len(got.req.Body()) != 0 || got.req.ContentType() != nil || !b.pbxContact(got.req.Contact()) {
				t.Fatalf("relayed UPDATE:\n%s", got.req)
			}
			checkRetargeted(t, from, to)
		})
	}
}

// TestUpdateGlare: while the caller's UPDATE offer waits for its answer,
// the callee's own offer (UPDATE or re-INVITE) gets 491; its refresh
// without SDP does not.
func TestUpdateGlare(t *testing.T) {
	b := bridge(t)
	release := make(chan struct{})
	b.peer.set(sip.StatusOK, release)
	first := make(chan *sip.Response, 1)
	req := b.caller.request(sip.UPDATE, "application/sdp", offerSDP(6000, "sendonly"))
	go func() {
		res, err := b.caller.do(req)
		if err != nil {
			t.Error(err)
		}
		first <- res
	}()
	b.peer.next(1)
	for _, m := range []sip.RequestMethod{sip.UPDATE, sip.INVITE} {
		if res := b.peer.send(m, "application/sdp", offerSDP(7000, "sendonly")); res.StatusCode != sip.StatusRequestPending {
			t.Fatalf("callee's %s during the caller's offer: %d, want 491", m, res.StatusCode)
		}
	}
	if res := b.peer.send(sip.UPDATE, "", nil); res.StatusCode != sip.StatusOK {
		t.Fatalf("callee's UPDATE without SDP during the caller's offer: %d", res.StatusCode)
	}
	close(release)
	if res := <-first; res == nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("caller's UPDATE: %v", res)
	}
}

// TestRelayJournalFails: when the journal cannot record the new CSeqs the
// sender gets 500 and nothing is relayed; the call takes offers again once
// the journal works.
func TestRelayJournalFails(t *testing.T) {
	b := bridge(t)
	b.j.failing(true)
	for _, r := range []struct {
		method sip.RequestMethod
		ctype  string
		body   []byte
	}{
		{sip.INFO, "application/dtmf-relay", []byte(dtmf)},
		{sip.UPDATE, "", nil},
		{sip.UPDATE, "application/sdp", offerSDP(6000, "sendonly")},
		{sip.INVITE, "application/sdp", offerSDP(6000, "sendonly")},
	} {
		if res := b.caller.send(r.method, r.ctype, r.body); res.StatusCode != sip.StatusInternalServerError {
			t.Fatalf("%s %s with the journal failing: %d, want 500", r.method, r.ctype, res.StatusCode)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(b.peer.arrivals()); n != 0 || b.cb.count(&b.cb.invites) != 1 {
		t.Fatalf("%d requests relayed without a journal record", n)
	}
	b.j.failing(false)
	if res := b.caller.send(sip.UPDATE, "application/sdp", offerSDP(6000, "sendonly")); res.StatusCode != sip.StatusOK {
		t.Fatalf("UPDATE once the journal works: %d", res.StatusCode)
	}
}

// TestInfoUpdateOutsideCalls: INFO and UPDATE for no call get 481, an
// UPDATE before the answer 501 (not supported in early dialogs), and
// OPTIONS lists both methods.
func TestInfoUpdateOutsideCalls(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	registered(t, p, "200").answer(answerMode{})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	ringing := oc.wait(sip.StatusRinging)
	send := func(m sip.RequestMethod, callID string) int {
		req := sip.NewRequest(m, a.uri("200"))
		req.AppendHeader(sip.HeaderClone(oc.inv.From()))
		req.AppendHeader(sip.HeaderClone(ringing.To()))
		cid := sip.CallIDHeader(callID)
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 50, MethodName: m})
		return a.do(req, "").StatusCode
	}
	for _, tc := range []struct {
		method sip.RequestMethod
		callID string
		want   int
	}{
		{sip.INFO, "no-such-call", sip.StatusCallTransactionDoesNotExists},
		{sip.UPDATE, "no-such-call", sip.StatusCallTransactionDoesNotExists},
		{sip.UPDATE, oc.inv.CallID().Value(), sip.StatusNotImplemented},
	} {
		if got := send(tc.method, tc.callID); got != tc.want {
			t.Fatalf("%s for %s: %d, want %d", tc.method, tc.callID, got, tc.want)
		}
	}
	oc.cancel()
	res := a.do(sip.NewRequest(sip.OPTIONS, a.uri("")), "")
	if allow := header(res, "Allow"); !strings.Contains(allow, "INFO") || !strings.Contains(allow, "UPDATE") {
		t.Fatalf("Allow: %s", allow)
	}
}
