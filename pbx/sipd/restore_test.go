package sipd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/store"
)

// restoringMedia is fakeMedia that can also take back a journaled relay;
// its restored relays last saw RTP at lastRTP (zero: they report none).
type restoringMedia struct {
	fakeMedia
	lastRTP time.Time
}

func (m *restoringMedia) Restore(rec CallRecord, _ func()) (Relay, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open++
	r := &fakeRelay{m: &m.fakeMedia, base: rec.RelayA.Port()}
	m.last = r
	if m.lastRTP.IsZero() {
		return r, nil
	}
	return clockedRelay{r, m.lastRTP}, nil
}

type clockedRelay struct {
	*fakeRelay
	last time.Time
}

func (r clockedRelay) LastRTP() time.Time { return r.last }

// rawPhone is a UDP socket that speaks SIP as text, so the test sees every
// header the PBX built from the restored dialog state.
type rawPhone struct {
	t    *testing.T
	conn *net.UDPConn
}

func newRawPhone(t *testing.T) *rawPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPhone{t: t, conn: c}
}

func (p *rawPhone) addr() string { return p.conn.LocalAddr().String() }

func (p *rawPhone) send(to string, msg string) {
	p.t.Helper()
	ua, err := net.ResolveUDPAddr("udp", to)
	if err == nil {
		_, err = p.conn.WriteToUDP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")), ua)
	}
	if err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next message, skipping provisional responses.
func (p *rawPhone) recv() (sip.Message, *net.UDPAddr) {
	p.t.Helper()
	buf := make([]byte, 8192)
	for {
		p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, src, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("phone %s: %v", p.addr(), err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			p.t.Fatalf("phone %s: parse: %v", p.addr(), err)
		}
		if res, ok := m.(*sip.Response); ok && res.IsProvisional() {
			continue
		}
		return m, src
	}
}

// answer sends a 200 to req, echoing its transaction headers.
func (p *rawPhone) answer(req *sip.Request, to *net.UDPAddr) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	p.send(to.String(), strings.ReplaceAll(res.String(), "\r\n", "\n"))
}

// restoredCall is a confirmed call as a journal would hold it: the caller
// leg's peer and the callee leg's first route are the two raw phones, the
// callee's remote target is unreachable (so requests must follow the route
// set), and both legs have CSeqs well past their initial values.
func restoredCall(caller, callee *rawPhone) CallRecord {
	answer := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	return CallRecord{ID: "a-restored@test", Caller: "100", Callee: "200", State: Confirmed,
		A: Dialog{CallID: "a-restored@test", LocalTag: "pbx-a", RemoteTag: "phone-a", LocalURI: "sip:200@127.0.0.1",
			RemoteURI: "sip:100@127.0.0.1", LocalCSeq: 7, RemoteCSeq: 20, RemoteTarget: "sip:100@" + caller.addr(),
			Transport: "UDP", Peer: caller.addr()},
		B: Dialog{CallID: "b-restored@test", LocalTag: "pbx-b", RemoteTag: "phone-b", LocalURI: "sip:100@127.0.0.1",
			RemoteURI: "sip:200@127.0.0.1", LocalCSeq: 41, RemoteCSeq: 3, RemoteTarget: "sip:200@127.0.0.2:9",
			RouteSet: []string{"sip:" + callee.addr() + ";lr"}, Transport: "UDP"},
		RelayA: netip.MustParseAddrPort("127.0.0.1:41000"), RelayB: netip.MustParseAddrPort("127.0.0.1:41002"),
		Start: answer.Add(-5 * time.Second), Answer: answer,
	}
}

// restored starts a PBX on media and restores into it one call between two
// raw phones: restoredCall's, changed by edit when it is not nil.
func restored(t *testing.T, media MediaFactory, o RestoreOptions, edit func(*CallRecord)) (p *pbx, caller, callee *rawPhone, rec CallRecord) {
	t.Helper()
	p = startPBX(t, func(c *Config) { c.Media = media })
	caller, callee = newRawPhone(t), newRawPhone(t)
	rec = restoredCall(caller, callee)
	if edit != nil {
		edit(&rec)
	}
	if err := p.srv.Restore(context.Background(), []CallRecord{rec}, o); err != nil {
		t.Fatal(err)
	}
	return p, caller, callee, rec
}

// bye is an in-dialog BYE from a phone, as its dialog sees it.
func bye(from *rawPhone, pbx, callID, fromTag, toTag string, cseq uint32) string {
	return fmt.Sprintf(`BYE sip:%s SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%d
From: <sip:x@127.0.0.1>;tag=%s
To: <sip:y@127.0.0.1>;tag=%s
Call-ID: %s
CSeq: %d BYE
Max-Forwards: 70
Content-Length: 0

`, pbx, from.addr(), fromTag, cseq, fromTag, toTag, callID, cseq)
}

// TestRestoredDialogs: after Restore, in-dialog requests from either
// phone are answered and reach the other phone built from the restored
// state alone: next CSeq, our tags, the route set, the CDR keeping the
// original answer time; stale CSeqs and unknown tags are refused.
func TestRestoredDialogs(t *testing.T) {
	type leg struct{ callID, localTag, remoteTag string }
	for _, tc := range []struct {
		name     string
		fromA    bool   // the caller sends it
		cseq     uint32 // CSeq of the phone's request
		want     int    // the sender's response
		relayed  string // the other leg's expected "Call-ID CSeq From-tag To-tag Route"
		hangupBy string
	}{
		{"caller hangs up", true, 21, 200, "b-restored@test 42 pbx-b phone-b <sip:CALLEE;lr>", "caller"},
		{"callee hangs up", false, 4, 200, "a-restored@test 8 pbx-a phone-a ", "callee"},
		{"caller's stale CSeq", true, 20, 500, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, caller, callee, rec := restored(t, &restoringMedia{}, RestoreOptions{}, nil)
			from, to, l := caller, callee, leg{rec.A.CallID, rec.A.RemoteTag, rec.A.LocalTag}
			if !tc.fromA {
				from, to, l = callee, caller, leg{rec.B.CallID, rec.B.RemoteTag, rec.B.LocalTag}
			}
			from.send(p.addr, bye(from, p.addr, l.callID, l.localTag, l.remoteTag, tc.cseq))
			m, _ := from.recv()
			if res, ok := m.(*sip.Response); !ok || res.StatusCode != tc.want {
				t.Fatalf("sender got %s, want %d", firstLine(m), tc.want)
			}
			if tc.relayed == "" {
				if n := len(p.srv.Calls()); n != 1 {
					t.Fatalf("%d calls after a refused BYE, want the call still up", n)
				}
				return
			}
			m, src := to.recv()
			req, ok := m.(*sip.Request)
			if !ok || req.Method != sip.BYE {
				t.Fatalf("other phone got %s, want a BYE", firstLine(m))
			}
			ft, _ := req.From().Params.Get("tag")
			tt, _ := req.To().Params.Get("tag")
			route := ""
			if r := req.GetHeader("Route"); r != nil {
				route = r.Value()
			}
			got := fmt.Sprintf("%s %d %s %s %s", req.CallID().Value(), req.CSeq().SeqNo, ft, tt, route)
			if want := strings.ReplaceAll(tc.relayed, "CALLEE", callee.addr()); got != want {
				t.Fatalf("relayed BYE %q, want %q\n%s", got, want, req)
			}
			to.answer(req, src)
			cdr := waitCDR(t, p)
			if !cdr.Answer.Equal(rec.Answer) || cdr.HangupSide != tc.hangupBy || cdr.Duration() < time.Minute {
				t.Fatalf("CDR %+v, want answer %v kept and hung up by %s", cdr, rec.Answer, tc.hangupBy)
			}
		})
	}
}

// waitCDR waits for the one CDR of the test's call.
func waitCDR(t *testing.T, p *pbx) store.CDR {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cs, err := p.store.CDRs(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 {
			return cs[0]
		}
	}
	t.Fatal("no CDR within 5 s")
	return store.CDR{}
}

func firstLine(m sip.Message) string {
	line, _, _ := strings.Cut(m.String(), "\r\n")
	return line
}

// TestRestoreHangsUp: a restored call that cannot go on is hung up with a
// BYE to each phone, built from the restored dialogs, and a CDR saying why.
func TestRestoreHangsUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state State
		media *restoringMedia
		disp  string
	}{
		{"answered, never acknowledged", Answered, &restoringMedia{}, store.Failed},
		{"no RTP since the restart", Confirmed, &restoringMedia{lastRTP: time.Now().Add(-time.Hour)}, DispositionRTPTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, caller, callee, rec := restored(t, tc.media, RestoreOptions{RTPTimeout: 200 * time.Millisecond},
				func(r *CallRecord) { r.State = tc.state })
			for _, ph := range []struct {
				phone  *rawPhone
				callID string
				cseq   uint32
			}{{caller, rec.A.CallID, rec.A.LocalCSeq + 1}, {callee, rec.B.CallID, rec.B.LocalCSeq + 1}} {
				m, src := ph.phone.recv()
				req, ok := m.(*sip.Request)
				if !ok || req.Method != sip.BYE || req.CallID().Value() != ph.callID || req.CSeq().SeqNo != ph.cseq {
					t.Fatalf("phone got %s, want BYE %s CSeq %d", firstLine(m), ph.callID, ph.cseq)
				}
				ph.phone.answer(req, src)
			}
			if cdr := waitCDR(t, p); cdr.Disposition != tc.disp || cdr.HangupSide != "pbx" || !cdr.Answer.Equal(rec.Answer) {
				t.Fatalf("CDR %+v, want %q hung up by pbx", cdr, tc.disp)
			}
			if n := len(p.srv.Calls()); n != 0 {
				t.Fatalf("%d calls left", n)
			}
		})
	}
}

// sdpFrom is a phone's or the PBX's description: origin version v, audio
// on port, optional direction attribute.
func sdpFrom(user string, v, port int, dir string) string {
	s := fmt.Sprintf("v=0\no=%s 1 %d IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 8\na=rtpmap:8 PCMA/8000\n", user, v, port)
	if dir != "" {
		s += "a=" + dir + "\n"
	}
	return s
}

// TestRestoredReinvite: the callee puts a restored call on hold. The
// caller gets a re-INVITE built from the restored caller leg (next CSeq,
// our tags, the relay's address in an SDP whose o= version follows the
// journaled one), then the PBX's ACK; the callee gets the answer, also
// with its leg's next o= version.
func TestRestoredReinvite(t *testing.T) {
	p, caller, callee, rec := restored(t, &restoringMedia{}, RestoreOptions{}, func(r *CallRecord) {
		r.A.LocalSDP, r.B.LocalSDP = []byte(sdpFrom("pbxha", 5, 41000, "")), []byte(sdpFrom("pbxha", 9, 41002, ""))
	})
	offer := sdpFrom("phoneb", 2, 7000, "sendonly")
	callee.send(p.addr, fmt.Sprintf(`INVITE sip:%s SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bK-hold
From: <sip:200@127.0.0.1>;tag=phone-b
To: <sip:100@127.0.0.1>;tag=pbx-b
Call-ID: b-restored@test
CSeq: 4 INVITE
Contact: <sip:200@%s>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: %d

%s`, p.addr, callee.addr(), callee.addr(), len(strings.ReplaceAll(offer, "\n", "\r\n")), offer))

	m, src := caller.recv()
	req, ok := m.(*sip.Request)
	if !ok || req.Method != sip.INVITE {
		t.Fatalf("caller got %s, want the re-INVITE", firstLine(m))
	}
	ft, _ := req.From().Params.Get("tag")
	tt, _ := req.To().Params.Get("tag")
	body := string(req.Body())
	if req.CallID().Value() != rec.A.CallID || req.CSeq().SeqNo != 8 || ft != "pbx-a" || tt != "phone-a" ||
		!strings.Contains(body, "o=pbxha 1 6 IN IP4") || !strings.Contains(body, "m=audio 41000 ") || !strings.Contains(body, "a=sendonly") {
		t.Fatalf("re-INVITE to the caller:\n%s", req)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", []byte(strings.ReplaceAll(sdpFrom("phonea", 3, 6000, "recvonly"), "\n", "\r\n")))
	res.AppendHeader(sip.NewHeader("Contact", "<sip:100@"+caller.addr()+">"))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	caller.send(src.String(), strings.ReplaceAll(res.String(), "\r\n", "\n"))
	if m, _ := caller.recv(); !isRequest(m, sip.ACK) || m.CSeq().SeqNo != 8 {
		t.Fatalf("caller got %s, want ACK CSeq 8", firstLine(m))
	}
	m, _ = callee.recv()
	if res, ok := m.(*sip.Response); !ok || res.StatusCode != 200 || !strings.Contains(string(res.Body()), "o=pbxha 1 10 IN IP4") ||
		!strings.Contains(string(res.Body()), "m=audio 41002 ") {
		t.Fatalf("callee got:\n%s", m)
	}
}

func isRequest(m sip.Message, method sip.RequestMethod) bool {
	req, ok := m.(*sip.Request)
	return ok && req.Method == method
}
