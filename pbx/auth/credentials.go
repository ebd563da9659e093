package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// credentials are the fields of a Digest Authorization header we use.
type credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, Cnonce, QOP string
	Nc                                                            uint32
}

// parseCredentials parses `Digest k=v, k="v", ...` (RFC 7616 3.4). It is
// on the hot path of every authenticated request, hence hand-written
// rather than a general auth-param parser.
func parseCredentials(h string) (credentials, error) {
	var c credentials
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return c, errors.New("not a Digest credential")
	}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return c, fmt.Errorf("parameter without value near %q", rest)
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return c, fmt.Errorf("unterminated quoted value for %s", key)
			}
			val, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return c, fmt.Errorf("missing comma after %s", key)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch key {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = val
		case "algorithm":
			c.Algorithm = val
		case "cnonce":
			c.Cnonce = val
		case "qop":
			c.QOP = val
		case "nc":
			n, err := strconv.ParseUint(val, 16, 32)
			if err != nil {
				return c, fmt.Errorf("nc %q: %w", val, err)
			}
			c.Nc = uint32(n)
		}
	}
	return c, nil
}
