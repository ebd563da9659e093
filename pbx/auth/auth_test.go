package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const realm = "pbx.test"

func users(user, alg string) (string, error) {
	if user != "100" {
		return "", fmt.Errorf("user %s: %w", user, ErrBadCredentials)
	}
	return HA1(alg, "100", realm, "secret"), nil
}

func mustURI(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// answer builds an Authorization value for the challenge of algorithm alg
// with the independent client implementation sipgo uses (icholy/digest).
func answer(t *testing.T, v *Verifier, alg, user, pw, uri string, nc int, method string) string {
	t.Helper()
	for _, h := range v.Challenges(false) {
		c, err := digest.ParseChallenge(h)
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm != alg {
			continue
		}
		cred, err := digest.Digest(c, digest.Options{Method: method, URI: uri, Username: user, Password: pw, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	t.Fatalf("no %s challenge", alg)
	return ""
}

// sharedKey stands for store.NonceKey: the key on the data volume.
var sharedKey = []byte("0123456789abcdef0123456789abcdef")

func newV(t *testing.T, algs ...string) *Verifier {
	t.Helper()
	v, err := New(realm, nil, time.Minute, algs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChallenges(t *testing.T) {
	v := newV(t)
	hs := v.Challenges(true)
	if len(hs) != 2 || !strings.Contains(hs[0], `algorithm=SHA-256`) || !strings.Contains(hs[1], `algorithm=MD5`) {
		t.Fatalf("challenges = %q", hs)
	}
	if hs := newV(t, MD5, SHA256).Challenges(false); !strings.Contains(hs[0], `algorithm=MD5`) {
		t.Fatalf("MD5 first: %q", hs)
	}
	if _, err := New(realm, nil, time.Minute, "SHA-512"); err == nil {
		t.Fatal("unsupported algorithm accepted")
	}
	if _, err := New(realm, []byte("short"), time.Minute); err == nil {
		t.Fatal("a 5-byte nonce key accepted")
	}
	for _, h := range hs {
		c, err := digest.ParseChallenge(h)
		if err != nil || !c.Stale || c.Realm != realm || !c.SupportsQOP("auth") {
			t.Fatalf("challenge %q: %+v %v", h, c, err)
		}
	}
}

func TestVerify(t *testing.T) {
	reqURI := "sip:pbx.test:5060"
	other := newV(t)
	// The PBX that issued a nonce before a failover: another process, same key.
	predecessor, err := New(realm, sharedKey, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		header  func(v *Verifier) string
		method  string
		reqURI  string
		want    error
		advance time.Duration
	}{
		{"md5", func(v *Verifier) string { return answer(t, v, MD5, "100", "secret", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, nil, 0},
		{"sha256", func(v *Verifier) string { return answer(t, v, SHA256, "100", "secret", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, nil, 0},
		{"uri without user (sipp default) for INVITE", func(v *Verifier) string {
			return answer(t, v, MD5, "100", "secret", "sip:pbx.test", 1, "INVITE")
		}, "INVITE", "sip:200@pbx.test", nil, 0},
		{"uri with same user", func(v *Verifier) string {
			return answer(t, v, MD5, "100", "secret", "sip:200@pbx.test:5060", 1, "INVITE")
		}, "INVITE", "sip:200@pbx.test", nil, 0},
		{"wrong password", func(v *Verifier) string { return answer(t, v, MD5, "100", "nope", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, ErrBadCredentials, 0},
		{"wrong method", func(v *Verifier) string { return answer(t, v, MD5, "100", "secret", reqURI, 1, "INVITE") }, "REGISTER", reqURI, ErrBadCredentials, 0},
		{"uri other host", func(v *Verifier) string {
			return answer(t, v, MD5, "100", "secret", "sip:evil.test", 1, "REGISTER")
		}, "REGISTER", reqURI, ErrBadURI, 0},
		{"uri other user", func(v *Verifier) string {
			return answer(t, v, MD5, "100", "secret", "sip:300@pbx.test", 1, "INVITE")
		}, "INVITE", "sip:200@pbx.test", ErrBadURI, 0},
		{"expired nonce", func(v *Verifier) string { return answer(t, v, SHA256, "100", "secret", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, ErrStale, 2 * time.Minute},
		{"foreign nonce", func(*Verifier) string { return answer(t, other, MD5, "100", "secret", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, ErrStale, 0},
		{"nonce from the predecessor (same key)", func(v *Verifier) string {
			predecessor.now = v.now
			return answer(t, predecessor, MD5, "100", "secret", reqURI, 1, "REGISTER")
		}, "REGISTER", reqURI, nil, 0},
		{"unknown user", func(v *Verifier) string { return answer(t, v, MD5, "999", "secret", reqURI, 1, "REGISTER") }, "REGISTER", reqURI, ErrBadCredentials, 0},
		{"no header", func(*Verifier) string { return "" }, "REGISTER", reqURI, ErrNoCredentials, 0},
		{"basic", func(*Verifier) string { return "Basic Zm9vOmJhcg==" }, "REGISTER", reqURI, ErrMalformed, 0},
		{"no response", func(*Verifier) string {
			return `Digest username="100", realm="pbx.test", nonce="x", uri="sip:pbx.test"`
		}, "REGISTER", reqURI, ErrMalformed, 0},
		{"unsupported algorithm", func(*Verifier) string {
			return `Digest username="100", realm="pbx.test", nonce="x", uri="sip:pbx.test", response="00", algorithm=SHA-512`
		}, "REGISTER", reqURI, ErrMalformed, 0},
		{"other realm", func(*Verifier) string {
			return `Digest username="100", realm="evil", nonce="x", uri="sip:pbx.test", response="00"`
		}, "REGISTER", reqURI, ErrBadCredentials, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			v, err := New(realm, sharedKey, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			v.now = func() time.Time { return now }
			h := tc.header(v)
			now = now.Add(tc.advance)
			user, err := v.Verify(Request{Method: tc.method, RequestURI: mustURI(t, tc.reqURI), Header: h}, users)
			if tc.want == nil && err == nil && user != "100" {
				t.Fatalf("user = %q", user)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	v := newV(t)
	uri := mustURI(t, "sip:pbx.test")
	var nonce string
	for _, h := range v.Challenges(false) {
		c, _ := digest.ParseChallenge(h)
		nonce = c.Nonce
	}
	chal := &digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: MD5, QOP: []string{"auth"}}
	noQOP := &digest.Challenge{Realm: realm, Nonce: v.nonce(time.Now()), Algorithm: MD5}
	steps := []struct {
		chal *digest.Challenge
		nc   int
		want error
	}{
		{chal, 1, nil},
		{chal, 1, ErrReplay},
		{chal, 3, nil},
		{chal, 2, ErrReplay},
		{noQOP, 0, nil},
		{noQOP, 0, ErrReplay},
	}
	for i, st := range steps {
		cred, err := digest.Digest(st.chal, digest.Options{Method: "REGISTER", URI: "sip:pbx.test", Username: "100", Password: "secret", Count: st.nc})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(Request{Method: "REGISTER", RequestURI: uri, Header: cred.String()}, users)
		if !errors.Is(err, st.want) {
			t.Fatalf("step %d: err = %v, want %v", i, err, st.want)
		}
	}
}
