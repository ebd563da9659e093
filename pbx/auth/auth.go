// Package auth is the PBX's server side of SIP digest authentication
// (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760): MD5 and SHA-256 challenges,
// stateless HMAC-signed nonces that carry their issue time (stale=true once
// they expire), nonce-count replay tracking, and digest-uri matching.
package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest algorithms (RFC 8760: one challenge each).
const (
	SHA256 = "SHA-256"
	MD5    = "MD5"
)

// Verification outcomes other than success. The caller answers ErrStale and
// ErrReplay with a fresh challenge carrying stale=true, ErrBadURI with 400,
// the others with a plain fresh challenge.
var (
	ErrNoCredentials  = errors.New("no digest credentials")
	ErrMalformed      = errors.New("malformed digest credentials")
	ErrBadCredentials = errors.New("wrong user or password")
	ErrStale          = errors.New("nonce expired or unknown")
	ErrReplay         = errors.New("nonce count replayed")
	ErrBadURI         = errors.New("digest uri does not match the Request-URI")
)

// HA1 is H(user:realm:password) for alg, what the store keeps instead of passwords.
func HA1(alg, user, realm, password string) string {
	return hexHash(newHash(alg), user+":"+realm+":"+password)
}

// Verifier issues challenges and checks credentials for one realm.
type Verifier struct {
	realm string
	algs  []string
	key   []byte
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	seen  map[string]uint32 // nonce -> highest nonce-count accepted
	sweep time.Time
}

// New returns a Verifier whose nonces are signed with key, live ttl, and
// that challenges with algs in that order (default SHA-256, MD5: RFC 8760
// orders by preference, but some clients, sipp among them, answer only the
// first challenge). Processes sharing a key (the PBX on whichever node holds
// the data volume: store.NonceKey) accept each other's nonces; with a nil
// key the Verifier makes a random one, and a nonce from another process is
// answered with stale=true, so clients re-authenticate silently.
func New(realm string, key []byte, ttl time.Duration, algs ...string) (*Verifier, error) {
	if len(algs) == 0 {
		algs = []string{SHA256, MD5}
	}
	for _, a := range algs {
		if a != SHA256 && a != MD5 {
			return nil, fmt.Errorf("digest algorithm %q: want %s or %s", a, SHA256, MD5)
		}
	}
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(fmt.Sprintf("auth: no randomness: %v", err))
		}
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("nonce key: %d bytes, want at least 16", len(key))
	}
	return &Verifier{realm: realm, algs: algs, key: key, ttl: ttl, now: time.Now, seen: map[string]uint32{}}, nil
}

// Realm is the realm challenged for.
func (v *Verifier) Realm() string { return v.realm }

// Challenges returns the WWW-Authenticate / Proxy-Authenticate values to
// send, one per algorithm, sharing one fresh nonce.
func (v *Verifier) Challenges(stale bool) []string {
	nonce := v.nonce(v.now())
	out := make([]string, 0, len(v.algs))
	for _, alg := range v.algs {
		c := digest.Challenge{Realm: v.realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		out = append(out, c.String())
	}
	return out
}

// nonce = base64url(issued unix nanos | 8 random bytes | HMAC-SHA256[:16]).
func (v *Verifier) nonce(now time.Time) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	if _, err := rand.Read(b[8:16]); err != nil {
		panic(fmt.Sprintf("auth: no randomness: %v", err))
	}
	copy(b[16:], v.mac(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (v *Verifier) mac(b []byte) []byte {
	m := hmac.New(sha256.New, v.key)
	m.Write(b)
	m.Write([]byte(v.realm))
	return m.Sum(nil)[:16]
}

// nonceFresh reports whether nonce is ours and younger than ttl.
func (v *Verifier) nonceFresh(nonce string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 || !hmac.Equal(b[16:], v.mac(b[:16])) {
		return false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	age := now.Sub(issued)
	return age >= -time.Second && age < v.ttl
}

// Request is what Verify needs from a SIP request.
type Request struct {
	Method     string
	RequestURI sip.Uri
	Header     string // the Authorization or Proxy-Authorization value; "" if absent
}

// HA1Lookup returns a user's stored HA1 for alg. For an unknown user it
// returns an error wrapping ErrBadCredentials, so that unknown users and
// wrong passwords look the same to the client.
type HA1Lookup func(user, alg string) (string, error)

// Verify checks r's credentials and returns the authenticated user name.
// Errors from lookup are returned as they are.
func (v *Verifier) Verify(r Request, lookup HA1Lookup) (string, error) {
	if r.Header == "" {
		return "", ErrNoCredentials
	}
	c, err := parseCredentials(r.Header)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	alg := c.Algorithm
	if alg == "" {
		alg = MD5
	}
	alg = strings.ToUpper(alg)
	switch {
	case c.Username == "" || c.Nonce == "" || c.Response == "" || c.URI == "":
		return "", fmt.Errorf("%w: missing username, nonce, uri or response", ErrMalformed)
	case alg != MD5 && alg != SHA256:
		return "", fmt.Errorf("%w: algorithm %q", ErrMalformed, c.Algorithm)
	case c.QOP != "" && c.QOP != "auth":
		return "", fmt.Errorf("%w: qop %q", ErrMalformed, c.QOP)
	case c.Realm != v.realm:
		return "", fmt.Errorf("%w: realm %q", ErrBadCredentials, c.Realm)
	}
	if !uriMatches(c.URI, r.RequestURI) {
		return "", fmt.Errorf("%w: %q vs %s", ErrBadURI, c.URI, r.RequestURI.String())
	}
	ha1, err := lookup(c.Username, alg)
	if err != nil {
		return "", err
	}
	h := newHash(alg)
	ha2 := hexHash(h, r.Method+":"+c.URI)
	var want string
	if c.QOP == "" {
		want = hexHash(h, ha1+":"+c.Nonce+":"+ha2)
	} else {
		want = hexHash(h, fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, c.Nonce, c.Nc, c.Cnonce, c.QOP, ha2))
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return "", ErrBadCredentials
	}
	now := v.now()
	if !v.nonceFresh(c.Nonce, now) {
		return "", ErrStale
	}
	if !v.countOK(c.Nonce, c.Nc, now) {
		return "", ErrReplay
	}
	return c.Username, nil
}

// countOK accepts each nonce-count once and only increasing (a nonce used
// without qop has count 0: it is good once).
func (v *Verifier) countOK(nonce string, nc uint32, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if now.Sub(v.sweep) > v.ttl {
		for n := range v.seen {
			if !v.nonceFresh(n, now) {
				delete(v.seen, n)
			}
		}
		v.sweep = now
	}
	last, ok := v.seen[nonce]
	if ok && nc <= last {
		return false
	}
	v.seen[nonce] = nc
	return true
}

// uriMatches implements the digest-uri check of RFC 2617 3.2.2.5 for SIP:
// the credentials' uri must name the same resource as the Request-URI. UAs
// differ in what they put there (sipp uses the server's address without the
// user part unless -auth_uri is given), so scheme, host and port must match
// and a user part, when present, must match too.
func uriMatches(credURI string, reqURI sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(credURI, &u); err != nil {
		return false
	}
	port := func(x sip.Uri) int {
		if x.Port != 0 {
			return x.Port
		}
		if x.IsEncrypted() {
			return 5061
		}
		return 5060
	}
	return strings.EqualFold(u.Scheme, reqURI.Scheme) &&
		strings.EqualFold(u.Host, reqURI.Host) &&
		port(u) == port(reqURI) &&
		(u.User == "" || u.User == reqURI.User)
}

func newHash(alg string) hash.Hash {
	if alg == SHA256 {
		return sha256.New()
	}
	return md5.New()
}

func hexHash(h hash.Hash, s string) string {
	h.Reset()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}
