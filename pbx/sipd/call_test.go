package sipd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// registered returns a registered phone for ext.
func registered(t *testing.T, p *pbx, ext string) *phone {
	t.Helper()
	ph := newPhone(t, ext, p.addr)
	if res := ph.register(3600, "pw"+ext); res.StatusCode != sip.StatusOK {
		t.Fatalf("register %s: %d", ext, res.StatusCode)
	}
	return ph
}

// connected places a call 100 -> 200 (both registered with p) that 200
// answers, and returns once the caller's and the PBX's ACKs are out.
func connected(t *testing.T, p *pbx) *outCall {
	t.Helper()
	a := registered(t, p, "100")
	b := registered(t, p, "200")
	cb := b.answer(answerMode{code: sip.StatusOK})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d %s", res.StatusCode, res.Reason)
	}
	oc.ack()
	eventually(t, "callee ACKed", func() bool { return cb.count(&cb.acks) == 1 })
	return oc
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func lastCDR(t *testing.T, p *pbx) store.CDR {
	t.Helper()
	var cdrs []store.CDR
	eventually(t, "a CDR", func() bool {
		var err error
		cdrs, err = p.store.CDRs(context.Background(), 1)
		return err == nil && len(cdrs) == 1
	})
	return cdrs[0]
}

// TestCallBothWays places a call 100 -> 200, checks the SDP on both legs
// points at the relay, then hangs up from each side in turn.
func TestCallBothWays(t *testing.T) {
	for _, hangup := range []string{"caller", "callee"} {
		t.Run(hangup+" hangs up", func(t *testing.T) {
			p := startPBX(t, nil)
			a := registered(t, p, "100")
			b := registered(t, p, "200")
			cb := b.answer(answerMode{code: sip.StatusOK, delay: 50 * time.Millisecond})

			oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
			res := oc.wait(0)
			if res.StatusCode != sip.StatusOK {
				t.Fatalf("call: %d %s", res.StatusCode, res.Reason)
			}
			if !strings.Contains(fmt.Sprint(oc.provisional), "180") {
				t.Fatalf("provisional responses %v, want 180 relayed", oc.provisional)
			}
			inv := cb.last(&cb.invites)
			// Both phones learn that the PBX takes UPDATE and INFO in the call.
			for leg, h := range map[string]sip.Header{"caller's 200": res.GetHeader("Allow"), "callee's INVITE": inv.GetHeader("Allow")} {
				if h == nil || !strings.Contains(h.Value(), "UPDATE") || !strings.Contains(h.Value(), "INFO") {
					t.Fatalf("%s: Allow %v, want INFO and UPDATE listed", leg, h)
				}
			}
			for leg, body := range map[string]string{"caller": string(res.Body()), "callee": string(inv.Body())} {
				if !strings.Contains(body, "c=IN IP4 127.0.0.1") || !strings.Contains(body, "m=audio 4000") || strings.Contains(body, " 6000 ") || strings.Contains(body, " 7000 ") {
					t.Fatalf("%s leg SDP not anchored on the relay:\n%s", leg, body)
				}
			}
			oc.ack()
			eventually(t, "callee ACKed", func() bool { return cb.count(&cb.acks) == 1 })
			eventually(t, "caller leg confirmed", func() bool {
				cs := p.srv.Calls()
				return len(cs) == 1 && cs[0].State == Confirmed
			})

			if hangup == "caller" {
				if res := oc.do(sip.BYE, nil); res.StatusCode != sip.StatusOK {
					t.Fatalf("BYE: %d", res.StatusCode)
				}
				eventually(t, "BYE relayed to callee", func() bool { return cb.count(&cb.byes) == 1 })
			} else {
				byeFromCallee(t, b, cb)
			}
			c := lastCDR(t, p)
			if c.Disposition != store.Answered || c.HangupSide != hangup || c.Caller != "100" || c.Callee != "200" ||
				c.ACallID != oc.inv.CallID().Value() || c.BCallID != inv.CallID().Value() || c.Answer.IsZero() {
				t.Fatalf("CDR = %+v", c)
			}
			if n := p.srv.cfg.Media.(*fakeMedia).active(); n != 0 {
				t.Fatalf("%d relays still open", n)
			}
			p.obs.mu.Lock()
			states := fmt.Sprint(p.obs.states)
			p.obs.mu.Unlock()
			if states != "[early answered confirmed]" {
				t.Fatalf("observer saw %s", states)
			}
		})
	}
}

// byeFromCallee sends BYE in the callee's dialog and expects it to reach the caller.
func byeFromCallee(t *testing.T, b *phone, cb *callee) {
	t.Helper()
	inv := cb.last(&cb.invites)
	bye := sip.NewRequest(sip.BYE, inv.Contact().Address)
	to := &sip.ToHeader{Address: inv.From().Address, Params: inv.From().Params.Clone()}
	from := &sip.FromHeader{Address: inv.To().Address, Params: sip.NewParams()}
	from.Params.Add("tag", cb.tag)
	bye.AppendHeader(from)
	bye.AppendHeader(to)
	bye.AppendHeader(sip.HeaderClone(inv.CallID()))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.BYE})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := b.cli.Do(ctx, bye)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("callee BYE: %v %v", res, err)
	}
}

// TestCallFailures checks the status the caller gets and the CDR.
func TestCallFailures(t *testing.T) {
	cases := []struct {
		name   string
		callee string
		mode   *answerMode // nil: callee not registered
		pw     string
		want   int
		disp   string // "" when no CDR is expected (rejected before routing)
	}{
		{"unknown extension", "999", nil, "pw100", sip.StatusNotFound, ""},
		{"not registered", "300", nil, "pw100", sip.StatusTemporarilyUnavailable, ""},
		{"busy", "200", &answerMode{code: sip.StatusBusyHere}, "pw100", sip.StatusBusyHere, store.Busy},
		{"decline counts as busy", "200", &answerMode{code: 603}, "pw100", sip.StatusBusyHere, store.Busy},
		{"no answer", "200", &answerMode{}, "pw100", sip.StatusRequestTimeout, store.NoAnswer},
		{"callee error", "200", &answerMode{code: sip.StatusInternalServerError}, "pw100", sip.StatusTemporarilyUnavailable, store.Failed},
		{"wrong password", "200", &answerMode{code: sip.StatusOK}, "nope", sip.StatusForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startPBX(t, func(c *Config) { c.RingTimeout = 500 * time.Millisecond })
			a := registered(t, p, "100")
			var cb *callee
			if tc.mode != nil {
				cb = registered(t, p, tc.callee).answer(*tc.mode)
			}
			oc := a.dial(tc.callee, tc.pw, offerSDP(6000, "sendrecv"))
			if res := oc.wait(0); res.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
			if tc.disp != "" {
				if c := lastCDR(t, p); c.Disposition != tc.disp || c.SIPStatus != tc.want ||
					c.BCallID != cb.last(&cb.invites).CallID().Value() {
					t.Fatalf("CDR = %+v", c)
				}
			}
			if tc.name == "wrong password" && cb.count(&cb.invites) != 0 {
				t.Fatal("unauthenticated INVITE reached the callee")
			}
			if tc.name == "no answer" {
				eventually(t, "callee cancelled", func() bool { cb.mu.Lock(); defer cb.mu.Unlock(); return cb.cancels == 1 })
			}
			if n := p.srv.cfg.Media.(*fakeMedia).active(); n != 0 {
				t.Fatalf("%d relays still open", n)
			}
		})
	}
}

func TestCallerCancels(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	cb := registered(t, p, "200").answer(answerMode{})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	oc.wait(sip.StatusRinging)
	if res := oc.cancel(); res.StatusCode != sip.StatusOK {
		t.Fatalf("CANCEL: %d", res.StatusCode)
	}
	if res := oc.wait(0); res.StatusCode != sip.StatusRequestTerminated {
		t.Fatalf("INVITE: %d, want 487", res.StatusCode)
	}
	eventually(t, "callee cancelled", func() bool { cb.mu.Lock(); defer cb.mu.Unlock(); return cb.cancels == 1 })
	if c := lastCDR(t, p); c.Disposition != store.Cancelled || c.HangupSide != "caller" {
		t.Fatalf("CDR = %+v", c)
	}
}

// TestFork: two phones registered for 200; the one that answers gets the
// call, the other is cancelled.
func TestFork(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	slow := registered(t, p, "200").answer(answerMode{})
	fast := registered(t, p, "200").answer(answerMode{code: sip.StatusOK, delay: 100 * time.Millisecond})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d", res.StatusCode)
	}
	oc.ack()
	if fast.count(&fast.invites) != 1 || slow.count(&slow.invites) != 1 {
		t.Fatal("INVITE not forked to both bindings")
	}
	eventually(t, "losing branch cancelled", func() bool { slow.mu.Lock(); defer slow.mu.Unlock(); return slow.cancels == 1 })
	if res := oc.do(sip.BYE, nil); res.StatusCode != sip.StatusOK {
		t.Fatalf("BYE: %d", res.StatusCode)
	}
	eventually(t, "BYE to the answering phone", func() bool { return fast.count(&fast.byes) == 1 })
}

// TestHoldResume relays re-INVITEs both ways in direction and back.
func TestHoldResume(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	cb := registered(t, p, "200").answer(answerMode{code: sip.StatusOK})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d", res.StatusCode)
	}
	oc.ack()
	for i, step := range []struct{ send, calleeGets, callerGets string }{
		{"sendonly", "a=sendonly", "a=recvonly"},
		{"sendrecv", "a=sendrecv", "a=sendrecv"},
	} {
		res := oc.do(sip.INVITE, offerSDP(6000, step.send))
		if res.StatusCode != sip.StatusOK || !strings.Contains(string(res.Body()), step.callerGets) || !strings.Contains(string(res.Body()), "m=audio 4000") {
			t.Fatalf("re-INVITE %s: %d\n%s", step.send, res.StatusCode, res.Body())
		}
		reinv := cb.last(&cb.invites)
		if cb.count(&cb.invites) != i+2 || !strings.Contains(string(reinv.Body()), step.calleeGets) {
			t.Fatalf("callee's re-INVITE %d:\n%s", i, reinv.Body())
		}
		if tag, _ := reinv.To().Params.Get("tag"); tag != cb.tag {
			t.Fatalf("re-INVITE To tag %q, want the callee's %q", tag, cb.tag)
		}
	}
	if v1, v2 := originVersion(cb.invites[1]), originVersion(cb.invites[2]); v2 != v1+1 {
		t.Fatalf("o= versions on the callee leg %d then %d, want +1", v1, v2)
	}
}

func originVersion(req *sip.Request) int {
	for _, l := range strings.Split(string(req.Body()), "\r\n") {
		if strings.HasPrefix(l, "o=") {
			var v int
			f := strings.Fields(l)
			fmt.Sscan(f[2], &v)
			return v
		}
	}
	return -1
}

func TestInDialogUnknown(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	oc := &outCall{p: a, inv: sip.NewRequest(sip.INVITE, a.uri("200"))}
	from := &sip.FromHeader{Address: a.uri("100"), Params: sip.NewParams()}
	from.Params.Add("tag", "x")
	oc.inv.AppendHeader(from)
	cid := sip.CallIDHeader("no-such-call")
	oc.inv.AppendHeader(&cid)
	oc.inv.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	to := &sip.ToHeader{Address: a.uri("200"), Params: sip.NewParams()}
	to.Params.Add("tag", "y")
	oc.final = sip.NewResponse(200, "OK")
	oc.final.AppendHeader(to)
	oc.final.AppendHeader(&sip.ContactHeader{Address: a.uri("")})
	if res := oc.do(sip.BYE, nil); res.StatusCode != sip.StatusCallTransactionDoesNotExists {
		t.Fatalf("BYE for unknown dialog: %d", res.StatusCode)
	}
}

// TestRetransmitted2xxReACKed: a callee that sends its 2xx again (its ACK
// was lost, as far as it knows) gets the ACK again.
func TestRetransmitted2xxReACKed(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	cb := registered(t, p, "200").answer(answerMode{code: sip.StatusOK, resend: true})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d", res.StatusCode)
	}
	oc.ack()
	eventually(t, "two ACKs at the callee", func() bool { return cb.count(&cb.acks) == 2 })
	acks := cb.acks
	if acks[0].CSeq().SeqNo != acks[1].CSeq().SeqNo || acks[0].CallID().Value() != acks[1].CallID().Value() {
		t.Fatalf("ACKs differ: %v / %v", acks[0].CSeq(), acks[1].CSeq())
	}
}

// TestEarlyMedia: a callee's 183 with SDP reaches the caller anchored on
// the relay, and the answer that follows keeps the same relay port.
func TestEarlyMedia(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	registered(t, p, "200").answer(answerMode{code: sip.StatusOK, delay: 100 * time.Millisecond, early: true})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	res := oc.wait(0)
	if res.StatusCode != sip.StatusOK || oc.early == nil {
		t.Fatalf("call: %d, 183 seen: %v", res.StatusCode, oc.early != nil)
	}
	early, answer := string(oc.early.Body()), string(res.Body())
	if !strings.Contains(early, "m=audio 4000") || strings.Contains(early, " 7000 ") {
		t.Fatalf("183 SDP not anchored:\n%s", early)
	}
	if mline(early) != mline(answer) {
		t.Fatalf("183 and 200 point at different relay ports: %q vs %q", mline(early), mline(answer))
	}
	oc.ack()
}

func mline(sdp string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "m=audio") {
			return l
		}
	}
	return ""
}

// TestCallToTCPPhone: the callee registered over TCP; the INVITE and the
// BYE reach it over the connection it registered on.
func TestCallToTCPPhone(t *testing.T) {
	p := startPBX(t, nil)
	a := registered(t, p, "100")
	b := newPhone(t, "200", p.addr)
	req := b.registerRequest("200")
	req.Recipient.UriParams = sip.NewParams()
	req.Recipient.UriParams.Add("transport", "tcp")
	if res := b.do(req, "pw200"); res.StatusCode != sip.StatusOK {
		t.Fatalf("register over TCP: %d", res.StatusCode)
	}
	cb := b.answer(answerMode{code: sip.StatusOK})
	oc := a.dial("200", "pw100", offerSDP(6000, "sendrecv"))
	if res := oc.wait(0); res.StatusCode != sip.StatusOK {
		t.Fatalf("call: %d %s", res.StatusCode, res.Reason)
	}
	oc.ack()
	if inv := cb.last(&cb.invites); inv.Transport() != "TCP" {
		t.Fatalf("INVITE reached the callee over %s", inv.Transport())
	}
	eventually(t, "callee ACKed", func() bool { return cb.count(&cb.acks) == 1 })
	if res := oc.do(sip.BYE, nil); res.StatusCode != sip.StatusOK {
		t.Fatalf("BYE: %d", res.StatusCode)
	}
	eventually(t, "BYE over TCP", func() bool { return cb.count(&cb.byes) == 1 })
}
