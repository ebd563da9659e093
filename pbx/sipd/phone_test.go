package sipd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func offerSDP(port int, dir string) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", port, dir))
}

// answerMode is how a callee phone answers INVITEs.
type answerMode struct {
	code   int           // final status (0: never answer, wait for CANCEL)
	delay  time.Duration // ringing time before the final response
	resend bool          // send the 2xx a second time, as a UAS does until it gets the ACK
	early  bool          // send 183 Session Progress with SDP instead of 180
}

// callee records what a phone receives as the called party.
type callee struct {
	mu      sync.Mutex
	invites []*sip.Request
	acks    []*sip.Request
	byes    []*sip.Request
	cancels int
	tag     string
	mode    answerMode
}

func (c *callee) count(which *[]*sip.Request) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(*which)
}

func (c *callee) last(which *[]*sip.Request) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(*which) == 0 {
		return nil
	}
	return (*which)[len(*which)-1]
}

// answer makes p behave as a called phone.
func (p *phone) answer(mode answerMode) *callee {
	c := &callee{tag: sip.GenerateTagN(8), mode: mode}
	p.callee.Store(c)
	return c
}

// serveCallee registers p's request handlers, before p serves; they act
// only once answer has set up a callee.
func (p *phone) serveCallee() {
	p.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if c := p.callee.Load(); c != nil {
			c.onInvite(p, req, tx)
		}
	})
	p.srv.OnAck(func(req *sip.Request, _ sip.ServerTransaction) {
		if c := p.callee.Load(); c != nil {
			c.mu.Lock()
			c.acks = append(c.acks, req)
			c.mu.Unlock()
		}
	})
	p.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if c := p.callee.Load(); c != nil {
			c.mu.Lock()
			c.byes = append(c.byes, req)
			c.mu.Unlock()
		}
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
}

func (c *callee) onInvite(p *phone, req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	c.invites = append(c.invites, req)
	c.mu.Unlock()
	reply := func(code int, body []byte) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, "", body)
		res.To().Params.Add("tag", c.tag) // replaces sipgo's random tag
		if code < 300 {
			res.AppendHeader(p.contact())
		}
		setBody(res, body)
		tx.Respond(res)
		return res
	}
	if inDialog(req) { // re-INVITE: answer the hold/resume offer in kind
		dir := "sendrecv"
		if strings.Contains(string(req.Body()), "a=sendonly") {
			dir = "recvonly"
		}
		reply(sip.StatusOK, offerSDP(7100, dir))
		return
	}
	cancelled := make(chan struct{})
	tx.OnCancel(func(*sip.Request) { close(cancelled) })
	if c.mode.early {
		reply(sip.StatusSessionInProgress, offerSDP(7000, "sendrecv"))
	} else {
		reply(sip.StatusRinging, nil)
	}
	var timeout <-chan time.Time
	if c.mode.code != 0 {
		timeout = time.After(c.mode.delay)
	}
	select {
	case <-timeout:
	case <-cancelled:
		c.mu.Lock()
		c.cancels++
		c.mu.Unlock()
		return
	}
	var body []byte
	if c.mode.code == sip.StatusOK {
		body = offerSDP(7000, "sendrecv")
	}
	res := reply(c.mode.code, body)
	if c.mode.resend {
		time.Sleep(100 * time.Millisecond)
		tx.Respond(res)
	}
}

// outCall is the caller's side of a call placed by a test phone.
type outCall struct {
	p           *phone
	inv         *sip.Request
	tx          sip.ClientTransaction
	final       *sip.Response
	provisional []int
	early       *sip.Response // the last 183 received
	cseq        uint32        // last in-dialog CSeq sent
}

// dial sends an INVITE, answering a 407 with pw; read its responses with wait.
func (p *phone) dial(to, pw string, body []byte) *outCall {
	p.t.Helper()
	inv := sip.NewRequest(sip.INVITE, p.uri(to))
	from := &sip.FromHeader{Address: p.uri(p.ext), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	inv.AppendHeader(from)
	inv.AppendHeader(&sip.ToHeader{Address: p.uri(to)})
	inv.AppendHeader(p.contact())
	setBody(inv, body)
	ctx := context.Background()
	tx, err := p.cli.TransactionRequest(ctx, inv)
	if err != nil {
		p.t.Fatal(err)
	}
	oc := &outCall{p: p, inv: inv, tx: tx}
	if res := oc.wait(0); res.StatusCode == sip.StatusProxyAuthRequired {
		tx, err = p.cli.TransactionDigestAuth(ctx, inv, res, sipgo.DigestAuth{Username: p.ext, Password: pw})
		if err != nil {
			p.t.Fatal(err)
		}
		oc.tx, oc.final, oc.provisional = tx, nil, nil
	}
	return oc
}

// wait returns the final response, or the first provisional >= stopAt when
// stopAt is non-zero.
func (oc *outCall) wait(stopAt int) *sip.Response {
	oc.p.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case res := <-oc.tx.Responses():
			if res.IsProvisional() {
				oc.provisional = append(oc.provisional, res.StatusCode)
				if res.StatusCode == sip.StatusSessionInProgress {
					oc.early = res
				}
				if stopAt != 0 && res.StatusCode >= stopAt {
					return res
				}
				continue
			}
			oc.final = res
			return res
		case <-oc.tx.Done():
			oc.p.t.Fatalf("INVITE transaction ended: %v", oc.tx.Err())
		case <-timeout:
			oc.p.t.Fatal("no final response to INVITE")
		}
	}
}

// request builds a request in the caller's dialog established by final.
func (oc *outCall) request(method sip.RequestMethod, cseq uint32, body []byte) *sip.Request {
	target := oc.final.Contact().Address
	req := sip.NewRequest(method, target)
	req.AppendHeader(sip.HeaderClone(oc.inv.From()))
	req.AppendHeader(sip.HeaderClone(oc.final.To()))
	req.AppendHeader(sip.HeaderClone(oc.inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	req.AppendHeader(oc.p.contact())
	setBody(req, body)
	return req
}

func (oc *outCall) ack() {
	oc.p.t.Helper()
	if err := oc.p.cli.WriteRequest(oc.request(sip.ACK, oc.inv.CSeq().SeqNo, nil)); err != nil {
		oc.p.t.Fatal(err)
	}
}

func (oc *outCall) do(method sip.RequestMethod, body []byte) *sip.Response {
	oc.p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if oc.cseq == 0 {
		oc.cseq = oc.inv.CSeq().SeqNo
	}
	oc.cseq++
	req := oc.request(method, oc.cseq, body)
	res, err := oc.p.cli.Do(ctx, req)
	if err != nil {
		oc.p.t.Fatalf("%s: %v", method, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		ack := oc.request(sip.ACK, req.CSeq().SeqNo, nil)
		oc.p.cli.WriteRequest(ack)
	}
	return res
}

// cancel sends CANCEL for the pending INVITE.
func (oc *outCall) cancel() *sip.Response {
	oc.p.t.Helper()
	c := sip.NewRequest(sip.CANCEL, oc.inv.Recipient)
	c.AppendHeader(oc.inv.Via().Clone())
	c.AppendHeader(sip.HeaderClone(oc.inv.From()))
	c.AppendHeader(sip.HeaderClone(oc.inv.To()))
	c.AppendHeader(sip.HeaderClone(oc.inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: oc.inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := oc.p.cli.Do(ctx, c, prebuilt)
	if err != nil {
		oc.p.t.Fatalf("CANCEL: %v", err)
	}
	return res
}
