package sipd

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// branch is one outgoing INVITE of a call, to one binding of the callee.
type branch struct {
	inv  *sip.Request
	tx   sip.ClientTransaction
	d    Dialog
	done bool         // a final response or error was seen (ring loop only)
	ack  *sip.Request // the ACK sent for its 2xx, resent on retransmissions (guarded by Call.mu)
}

type branchEvent struct {
	br  *branch
	res *sip.Response
	err error
}

// ring forks the offer to every binding and drives the call until it is
// answered, rejected, cancelled by the caller or times out.
func (c *Call) ring(req *sip.Request, tx sip.ServerTransaction, bindings []store.Binding, offer []byte) {
	s := c.srv
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RingTimeout)
	defer cancel()
	cancelled := make(chan struct{})
	var once sync.Once
	tx.OnCancel(func(*sip.Request) { once.Do(func() { close(cancelled) }) })

	events := make(chan branchEvent, 4*len(bindings))
	quit := make(chan struct{})
	defer close(quit)
	var branches []*branch
	for _, b := range bindings {
		br, err := c.startBranch(b, offer)
		if err != nil {
			s.log.Warn("invite: branch", "call", c.rec.ID, "contact", b.Contact, "err", err)
			continue
		}
		branches = append(branches, br)
		if c.firstLeg == "" {
			c.firstLeg = br.d.CallID // the CDR's callee Call-ID if none answers
		}
		go c.forward(br, events, quit)
	}
	var f failures
	for pending := len(branches); pending > 0; {
		select {
		case ev := <-events:
			switch {
			case ev.err != nil:
				pending--
				ev.br.done = true
				f.add(ev.err, 0)
			case ev.res.IsProvisional():
				c.early(req, tx, ev.res)
			case ev.res.IsSuccess():
				ev.br.done = true
				pending--
				if c.answer(req, tx, ev.br, ev.res) {
					c.cancelBranches(branches)
					return
				}
				f.add(nil, sip.StatusNotAcceptableHere)
			default:
				pending--
				ev.br.done = true
				f.add(nil, ev.res.StatusCode)
			}
		case <-cancelled: // sipgo answered the CANCEL and the INVITE (487)
			go absorbAck(tx)
			c.cancelBranches(branches)
			c.finish(store.Cancelled, sip.StatusRequestTerminated, "caller")
			return
		case <-ctx.Done():
			c.cancelBranches(branches)
			c.replyA(req, tx, sip.StatusRequestTimeout, "Request Timeout", nil)
			c.finish(store.NoAnswer, sip.StatusRequestTimeout, "pbx")
			return
		}
	}
	code, reason, disp := f.result()
	c.replyA(req, tx, code, reason, nil)
	c.finish(disp, code, "callee")
}

// startBranch sends the INVITE to one binding.
func (c *Call) startBranch(b store.Binding, offer []byte) (*branch, error) {
	s := c.srv
	host := s.addr.IP.String()
	d := Dialog{
		CallID:       sip.GenerateTagN(24),
		LocalTag:     sip.GenerateTagN(16),
		LocalURI:     "sip:" + c.rec.Caller + "@" + host,
		RemoteURI:    "sip:" + c.rec.Callee + "@" + host,
		RemoteTarget: b.Contact,
		Transport:    b.Transport,
		LocalSDP:     offer,
	}
	if b.NAT {
		d.Peer = b.Received
	}
	inv, err := d.request(s.endpoint(), sip.INVITE, 0, offer)
	if err != nil {
		return nil, err
	}
	d.InviteCSeq = d.LocalCSeq
	tx, err := s.cli.TransactionRequest(context.Background(), inv, prebuilt)
	if err != nil {
		return nil, err
	}
	br := &branch{inv: inv, tx: tx, d: d}
	// The callee retransmits its 2xx until our ACK arrives; sipgo passes
	// those retransmissions here, not on Responses.
	tx.OnRetransmission(func(res *sip.Response) {
		if res.IsSuccess() {
			c.reack(br)
		}
	})
	return br, nil
}

// forward passes a branch's responses to the call until the final one.
// A 2xx that arrives after the call stopped listening (another branch
// won, the caller cancelled) is acknowledged and hung up. Retransmitted
// 2xx come through OnRetransmission (startBranch), so nothing waits here
// for the 32 s the transaction stays in the Accepted state.
func (c *Call) forward(br *branch, events chan<- branchEvent, quit <-chan struct{}) {
	for {
		select {
		case res := <-br.tx.Responses():
			select {
			case <-quit:
				if res.IsSuccess() {
					c.dismiss(br, res)
				}
			default:
				select {
				case events <- branchEvent{br: br, res: res}:
				case <-quit:
					if res.IsSuccess() {
						c.dismiss(br, res)
					}
				}
			}
			if !res.IsProvisional() {
				return
			}
		case <-br.tx.Done():
			select {
			case events <- branchEvent{br: br, err: br.tx.Err()}:
			case <-quit:
			}
			return
		}
	}
}

// reack resends the ACK of an already acknowledged 2xx: the callee did not
// get it and retransmitted its 2xx.
func (c *Call) reack(br *branch) {
	c.mu.Lock()
	ack := br.ack
	c.mu.Unlock()
	if ack != nil {
		_ = c.srv.cli.WriteRequest(ack, prebuilt)
	}
}

// early relays a ringing or session-progress response to the caller.
func (c *Call) early(req *sip.Request, tx sip.ServerTransaction, res *sip.Response) {
	if res.StatusCode == sip.StatusTrying {
		return
	}
	code, reason := sip.StatusRinging, "Ringing"
	var body []byte
	c.mu.Lock()
	if res.StatusCode == sip.StatusSessionInProgress && len(res.Body()) > 0 {
		b, peer, err := anchor(res.Body(), c.relay, Callee, c.rec.A.LocalSDP)
		if err == nil {
			c.relay.SetPeer(Callee, peer)
			c.rec.A.LocalSDP = b
			code, reason, body = sip.StatusSessionInProgress, "Session Progress", b
		}
	}
	if c.rec.State == Trying {
		if err := c.transition(Early); err != nil {
			c.srv.log.Warn("observer", "call", c.rec.ID, "err", err)
		}
	}
	c.mu.Unlock()
	c.replyA(req, tx, code, reason, body)
}

// answer bridges the call on a callee's 2xx: the callee leg is confirmed and
// acknowledged, the state recorded, then the 200 OK goes to the caller.
func (c *Call) answer(req *sip.Request, tx sip.ServerTransaction, br *branch, res *sip.Response) bool {
	s := c.srv
	c.mu.Lock()
	if c.rec.State >= Answered {
		c.mu.Unlock()
		c.dismiss(br, res)
		return true
	}
	br.d.confirm(res)
	body, peer, err := anchor(res.Body(), c.relay, Callee, c.rec.A.LocalSDP)
	if err != nil {
		c.mu.Unlock()
		s.log.Info("answer: unusable sdp", "call", c.rec.ID, "err", err)
		c.dismiss(br, res)
		return false
	}
	c.relay.SetPeer(Callee, peer)
	c.rec.B = br.d
	c.answered = br
	c.rec.A.LocalSDP = body
	c.rec.Answer = time.Now()
	if c.recordIt {
		c.startRecording()
	}
	s.calls.add(c.rec.B.CallID, c, Callee)
	ack, aerr := c.rec.B.request(s.endpoint(), sip.ACK, c.rec.B.InviteCSeq, nil)
	br.ack = ack
	err = errors.Join(aerr, c.transition(Answered))
	c.mu.Unlock()
	if err != nil {
		s.log.Error("answer", "call", c.rec.ID, "err", err)
		c.dismiss(br, res)
		c.replyA(req, tx, sip.StatusInternalServerError, "Server Internal Error", nil)
		c.finish(store.Failed, sip.StatusInternalServerError, "pbx")
		return true
	}
	if err := s.cli.WriteRequest(ack, prebuilt); err != nil {
		s.log.Warn("ack callee", "call", c.rec.ID, "err", err)
	}
	ok := c.replyA(req, tx, sip.StatusOK, "OK", body)
	go c.retransmitOK(tx, ok)
	return true
}

// dismiss acknowledges and hangs up a callee leg we do not want.
func (c *Call) dismiss(br *branch, res *sip.Response) {
	s := c.srv
	d := br.d
	d.confirm(res)
	if ack, err := d.request(s.endpoint(), sip.ACK, d.InviteCSeq, nil); err == nil {
		c.mu.Lock()
		br.ack = ack
		c.mu.Unlock()
		_ = s.cli.WriteRequest(ack, prebuilt)
	}
	if bye, err := d.request(s.endpoint(), sip.BYE, 0, nil); err == nil {
		go s.send(bye)
	}
}

// cancelBranches sends CANCEL on every branch still pending.
func (c *Call) cancelBranches(branches []*branch) {
	for _, br := range branches {
		if !br.done {
			br.done = true
			go c.srv.send(cancelFor(br.inv))
		}
	}
}

// replyA answers the caller's INVITE within its dialog (our To tag, Contact).
func (c *Call) replyA(req *sip.Request, tx sip.ServerTransaction, code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.To().Params.Add("tag", c.rec.A.LocalTag)
	if code < 300 {
		res.AppendHeader(c.srv.endpoint().contact())
		res.AppendHeader(sip.NewHeader("Allow", allow))
	}
	setBody(res, body)
	c.srv.respond(tx, res)
	return res
}

// retransmitOK resends the 2xx over UDP until the caller's ACK arrives (RFC
// 3261 13.3.1.4); without an ACK in 64*T1 the call is hung up.
func (c *Call) retransmitOK(tx sip.ServerTransaction, ok *sip.Response) {
	interval := sip.T1
	deadline := time.After(64 * sip.T1)
	for {
		var tick <-chan time.Time
		if c.rec.A.Transport == "UDP" {
			tick = time.After(interval)
		}
		select {
		case <-c.acked:
			return
		case ack := <-tx.Acks(): // an ACK reusing the INVITE's branch matches the transaction
			c.srv.onAck(ack, nil)
		case <-c.srv.closed:
			return
		case <-tick:
			_ = tx.Respond(ok)
			interval = min(2*interval, sip.T2)
		case <-deadline:
			c.srv.log.Warn("no ACK for 2xx: hanging up", "call", c.rec.ID)
			c.hangup(Caller, "pbx")
			return
		}
	}
}

// failures folds the final responses of all branches into the one the
// caller gets: busy wins, then timeout, else temporarily unavailable.
type failures struct{ busy, timeout bool }

func (f *failures) add(err error, code int) {
	switch {
	case errors.Is(err, sip.ErrTransactionTimeout) || code == sip.StatusRequestTimeout:
		f.timeout = true
	case code == sip.StatusBusyHere || code == 600 || code == 603:
		f.busy = true
	}
}

func (f failures) result() (int, string, string) {
	switch {
	case f.busy:
		return sip.StatusBusyHere, "Busy Here", store.Busy
	case f.timeout:
		return sip.StatusRequestTimeout, "Request Timeout", store.NoAnswer
	}
	return sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.Failed
}
