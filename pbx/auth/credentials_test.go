package auth

import (
	"testing"

	"github.com/icholy/digest"
)

func TestParseCredentials(t *testing.T) {
	cases := []struct {
		in      string
		want    credentials
		wantErr bool
	}{
		{`Digest username="100", realm="r", nonce="n1", uri="sip:h", response="abc", algorithm=MD5, cnonce="c", qop=auth, nc=0000000a`,
			credentials{Username: "100", Realm: "r", Nonce: "n1", URI: "sip:h", Response: "abc", Algorithm: "MD5", Cnonce: "c", QOP: "auth", Nc: 10}, false},
		// sipp's layout: no spaces after commas, algorithm before uri.
		{`Digest username="100",realm="r",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",nonce="x",response="f",algorithm=MD5`,
			credentials{Username: "100", Realm: "r", Nonce: "x", URI: "sip:127.0.0.1:5060", Response: "f", Algorithm: "MD5", Cnonce: "6b8b4567", QOP: "auth", Nc: 1}, false},
		{`digest Username = "a, b" , opaque="", response=ff`, credentials{Username: "a, b", Response: "ff"}, false},
		{`Basic Zm9vOmJhcg==`, credentials{}, true},
		{`Digest username`, credentials{}, true},
		{`Digest username="unterminated`, credentials{}, true},
		{`Digest username="a" realm="b"`, credentials{}, true},
		{`Digest nc=zz`, credentials{}, true},
	}
	for _, tc := range cases {
		got, err := parseCredentials(tc.in)
		if (err != nil) != tc.wantErr || !tc.wantErr && got != tc.want {
			t.Errorf("parseCredentials(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestParseMatchesReference: what the client library writes parses back
// to the same fields.
func TestParseMatchesReference(t *testing.T) {
	ref := digest.Credentials{Username: "100", Realm: "pbx.test", Nonce: "abc", URI: "sip:pbx.test", Response: "0123",
		Algorithm: "SHA-256", Cnonce: "cn", QOP: "auth", Nc: 3}
	got, err := parseCredentials(ref.String())
	want := credentials{Username: "100", Realm: "pbx.test", Nonce: "abc", URI: "sip:pbx.test", Response: "0123",
		Algorithm: "SHA-256", Cnonce: "cn", QOP: "auth", Nc: 3}
	if err != nil || got != want {
		t.Fatalf("parse(%q) = %+v, %v", ref.String(), got, err)
	}
}

func BenchmarkParseCredentials(b *testing.B) {
	h := `Digest username="100",realm="r",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",nonce="GOq0P-SNkSWQZjsbLqqxPYArJ0OhgVbVRmkgBh5AnfI",response="0123456789abcdef0123456789abcdef",algorithm=MD5`
	b.Run("pbx", func(b *testing.B) {
		for b.Loop() {
			parseCredentials(h)
		}
	})
	b.Run("icholy/digest", func(b *testing.B) {
		for b.Loop() {
			digest.ParseCredentials(h)
		}
	})
}
