package sipd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// rawRequest is an in-dialog request from a raw phone with a body of type
// ctype (lines end in \n: rawPhone.send makes them CRLF).
func rawRequest(method string, from *rawPhone, pbx, callID, fromTag, toTag string, cseq uint32, ctype, body string) string {
	return fmt.Sprintf(`%s sip:%s SIP/2.0
Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%s-%d
From: <sip:x@127.0.0.1>;tag=%s
To: <sip:y@127.0.0.1>;tag=%s
Call-ID: %s
CSeq: %d %s
Contact: <sip:x@%s>
Max-Forwards: 70
Content-Type: %s
Content-Length: %d

%s`, method, pbx, from.addr(), fromTag, method, cseq, fromTag, toTag, callID, cseq, method, from.addr(),
		ctype, len(strings.ReplaceAll(body, "\n", "\r\n")), body)
}

// TestRestoredInfoUpdate: after Restore, an INFO then an UPDATE with SDP
// from either phone reach the other phone built from the restored dialog
// alone (CSeqs continuing the journaled ones, our tags, the route set),
// with the INFO's body and type; the sender gets 200, for the UPDATE with
// the answer anchored on its restored relay port.
func TestRestoredInfoUpdate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fromA     bool   // the caller sends
		cseq      uint32 // the phone's first CSeq
		relayed   string // the other leg's "Call-ID CSeq From-tag To-tag Route", CSeq as %d
		cseqOut   uint32 // CSeq of the first relayed request
		from, out string // relay ports in the sender's answer and the relayed offer
	}{
		{"caller sends", true, 21, "b-restored@test %d pbx-b phone-b <sip:CALLEE;lr>", 42, "41000", "41002"},
		{"callee sends", false, 4, "a-restored@test %d pbx-a phone-a ", 8, "41002", "41000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, caller, callee, rec := restored(t, &restoringMedia{}, RestoreOptions{}, nil)
			from, to, d := caller, callee, rec.A
			if !tc.fromA {
				from, to, d = callee, caller, rec.B
			}
			for i, r := range []struct{ method, ctype, body string }{
				{"INFO", "application/dtmf-relay", "Signal=5\nDuration=160"},
				{"UPDATE", "application/sdp", sdpFrom("phone", 2, 7000, "sendonly")},
			} {
				from.send(p.addr, rawRequest(r.method, from, p.addr, d.CallID, d.RemoteTag, d.LocalTag, tc.cseq+uint32(i), r.ctype, r.body))
				m, src := to.recv()
				req, ok := m.(*sip.Request)
				if !ok || string(req.Method) != r.method {
					t.Fatalf("other phone got %s, want %s", firstLine(m), r.method)
				}
				ft, _ := req.From().Params.Get("tag")
				tt, _ := req.To().Params.Get("tag")
				got := fmt.Sprintf("%s %d %s %s %s", req.CallID().Value(), req.CSeq().SeqNo, ft, tt, header(req, "Route"))
				want := strings.ReplaceAll(fmt.Sprintf(tc.relayed, tc.cseqOut+uint32(i)), "CALLEE", callee.addr())
				if got != want {
					t.Fatalf("relayed %s %q, want %q\n%s", r.method, got, want, req)
				}
				body := string(req.Body())
				if r.method == "INFO" {
					if body != dtmf || header(req, "Content-Type") != r.ctype {
						t.Fatalf("relayed INFO:\n%s", req)
					}
					to.answer(req, src)
				} else {
					if !strings.Contains(body, "m=audio "+tc.out+" ") || !strings.Contains(body, "a=sendonly") {
						t.Fatalf("relayed UPDATE:\n%s", req)
					}
					res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", []byte(strings.ReplaceAll(sdpFrom("other", 3, 6000, "recvonly"), "\n", "\r\n")))
					res.AppendHeader(sip.NewHeader("Contact", "<sip:x@"+to.addr()+">"))
					res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
					to.send(src.String(), strings.ReplaceAll(res.String(), "\r\n", "\n"))
				}
				m, _ = from.recv()
				if res, ok := m.(*sip.Response); !ok || res.StatusCode != sip.StatusOK || res.CSeq().MethodName != req.Method ||
					r.method == "UPDATE" && !strings.Contains(string(res.Body()), "m=audio "+tc.from+" ") {
					t.Fatalf("sender got:\n%s", m)
				}
			}
		})
	}
}
