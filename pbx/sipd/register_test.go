package sipd

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestRegister(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	ctx := context.Background()

	cases := []struct {
		name     string
		expires  int
		pw       string
		code     int
		bindings int
	}{
		{"wrong password", 3600, "bad", sip.StatusForbidden, 0},
		{"too brief", 10, "pw100", sip.StatusIntervalToBrief, 0},
		{"register", 3600, "pw100", sip.StatusOK, 1},
		{"refresh", 1800, "pw100", sip.StatusOK, 1},
		{"unregister", 0, "pw100", sip.StatusOK, 0},
	}
	for _, tc := range cases {
		res := ph.register(tc.expires, tc.pw)
		if res.StatusCode != tc.code {
			t.Fatalf("%s: status %d %s, want %d", tc.name, res.StatusCode, res.Reason, tc.code)
		}
		bs, err := p.store.Lookup(ctx, "100", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != tc.bindings {
			t.Fatalf("%s: %d bindings, want %d", tc.name, len(bs), tc.bindings)
		}
		if tc.code == sip.StatusOK && len(res.GetHeaders("Contact")) != tc.bindings {
			t.Fatalf("%s: 200 lists %d contacts, want %d", tc.name, len(res.GetHeaders("Contact")), tc.bindings)
		}
		if tc.code == sip.StatusIntervalToBrief && res.GetHeader("Min-Expires") == nil {
			t.Fatalf("%s: 423 without Min-Expires", tc.name)
		}
		if tc.name == "register" {
			b := bs[0]
			if b.Received != ph.addr || b.NAT || b.Transport != "UDP" || !strings.HasPrefix(b.UserAgent, "testphone") ||
				b.Expires.Sub(time.Now()) < 3590*time.Second {
				t.Fatalf("binding = %+v", b)
			}
		}
	}
}

func TestRegisterChallenges(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	res, err := ph.cli.Do(context.Background(), ph.registerRequest("100"))
	if err != nil {
		t.Fatal(err)
	}
	hs := res.GetHeaders("WWW-Authenticate")
	if res.StatusCode != sip.StatusUnauthorized || len(hs) != 2 ||
		!strings.Contains(hs[0].Value(), "SHA-256") || !strings.Contains(hs[1].Value(), "MD5") {
		t.Fatalf("challenge: %d %v", res.StatusCode, hs)
	}
}

// TestRegisterOtherUser: authenticated as 100, registering 200 is refused.
func TestRegisterOtherUser(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	if res := ph.do(ph.registerRequest("200"), "pw100"); res.StatusCode != sip.StatusForbidden {
		t.Fatalf("status %d, want 403", res.StatusCode)
	}
}

func TestOptions(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	res, err := ph.cli.Do(context.Background(), sip.NewRequest(sip.OPTIONS, ph.uri("")))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
}

func TestListenRefusesWildcard(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:5060", "[::]:5060", ":5060", "127.0.0.1:0", "nonsense"} {
		if _, _, err := listen(addr, 1<<20); err == nil {
			t.Errorf("listen(%q) accepted", addr)
		}
	}
	udp, tcp, err := listen(freeAddr(t), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	defer tcp.Close()
	if n, err := recvBuffer(udp); err != nil || n < 4<<20 {
		t.Fatalf("SO_RCVBUF = %d, %v; want >= %d", n, err, 4<<20)
	}
}

// TestHostileInput sends garbage and malformed requests over UDP: the PBX
// must answer 4xx or drop them, and keep serving.
func TestHostileInput(t *testing.T) {
	p := startPBX(t, nil)
	conn, err := net.Dial("udp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := []string{
		"\x00\x01garbage\r\n\r\n",
		"INVITE sip:200@x SIP/2.0\r\n\r\n",
		"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 REGISTER\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKy\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCSeq: 1 BYE\r\nCall-ID: nope\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:200@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKz\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCSeq: 1 INVITE\r\nCall-ID: c\r\nContent-Length: 99999\r\n\r\n",
	}
	for i, m := range msgs {
		if _, err := conn.Write([]byte(m)); err != nil {
			t.Fatalf("msg %d: %v", i, err)
		}
	}
	ph := newPhone(t, "100", p.addr)
	if res := ph.register(3600, "pw100"); res.StatusCode != sip.StatusOK {
		t.Fatalf("after hostile input: %d", res.StatusCode)
	}
}

func TestBehindNAT(t *testing.T) {
	cases := []struct {
		name, src, via, contact string
		want                    bool
	}{
		{"direct", "192.0.2.1:5060", "192.0.2.1:5060", "sip:100@192.0.2.1:5060", false},
		{"contact on another port of the same host", "192.0.2.1:5072", "192.0.2.1:5072", "sip:100@192.0.2.1:5080", false},
		{"private contact", "198.51.100.7:40000", "10.0.0.5:5060", "sip:100@10.0.0.5:5060", true},
		{"port rewritten by NAT", "192.0.2.1:40000", "192.0.2.1:5060", "sip:100@192.0.2.1:5060", true},
	}
	for _, tc := range cases {
		raw := "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP " + tc.via + ";branch=z9hG4bK1\r\n" +
			"From: <sip:100@pbx>;tag=1\r\nTo: <sip:100@pbx>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		req := msg.(*sip.Request)
		req.SetSource(tc.src)
		var c sip.Uri
		if err := sip.ParseUri(tc.contact, &c); err != nil {
			t.Fatal(err)
		}
		if got := behindNAT(req, c); got != tc.want {
			t.Errorf("%s: behindNAT = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRegisterTCP registers over TCP; the binding records the transport.
func TestRegisterTCP(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	req := ph.registerRequest("100")
	req.Recipient.UriParams = sip.NewParams()
	req.Recipient.UriParams.Add("transport", "tcp")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := ph.cli.Do(ctx, req)
	if err == nil && res.StatusCode == sip.StatusUnauthorized {
		res, err = ph.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "100", Password: "pw100"})
	}
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER over TCP: %v %v", res, err)
	}
	bs, err := p.store.Lookup(ctx, "100", time.Now())
	if err != nil || len(bs) != 1 || bs[0].Transport != "TCP" {
		t.Fatalf("bindings = %+v, %v", bs, err)
	}
}

// TestDraining: while stopping, new registrations and calls get 503 and
// health checks still get 200.
func TestDraining(t *testing.T) {
	p := startPBX(t, nil)
	ph := newPhone(t, "100", p.addr)
	p.srv.drain.Store(true)
	if res := ph.register(3600, "pw100"); res.StatusCode != sip.StatusServiceUnavailable {
		t.Fatalf("REGISTER while draining: %d, want 503", res.StatusCode)
	}
	res, err := ph.cli.Do(context.Background(), sip.NewRequest(sip.OPTIONS, ph.uri("")))
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("OPTIONS while draining: %v %v", res, err)
	}
}
