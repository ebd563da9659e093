package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxSize bounds the descriptions Parse accepts; real phones send well
// under 4 KiB.
const MaxSize = 64 << 10

// Error is a parse or edit error naming the offending line.
type Error struct {
	LineNo int // 1-based, 0 when not tied to an input line
	Line   string
	Msg    string
}

func (e *Error) Error() string {
	if e.LineNo > 0 {
		return fmt.Sprintf("sdp: line %d %q: %s", e.LineNo, e.Line, e.Msg)
	}
	if e.Line != "" {
		return fmt.Sprintf("sdp: %q: %s", e.Line, e.Msg)
	}
	return "sdp: " + e.Msg
}

// Parse parses a session description. Lines may end in CRLF or LF; blank
// lines are skipped; unknown line types and attributes are kept as they
// are. It rejects input that is not SDP: a first line other than v=0, a
// missing or malformed o=, a malformed c= or m=, a bad rtpmap, control
// characters, or more than MaxSize bytes.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("description is %d bytes, over the %d limit", len(b), MaxSize)}
	}
	s := &Session{}
	var media *Media
	seen := 0 // non-blank lines seen
	haveOrigin := false
	// One string for the whole body: every field below is a substring of it.
	for n, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSuffix(raw, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		fail := func(msg string) error { return &Error{LineNo: n + 1, Line: line, Msg: msg} }
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, fail("want <letter>=<value>")
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			return nil, fail("control character")
		}
		typ, val := line[0], line[2:]
		seen++
		if seen == 1 {
			if typ != 'v' || val != "0" {
				return nil, fail("a description starts with v=0")
			}
			continue
		}
		var err error
		switch {
		case typ == 'v':
			err = fail("v= repeated")
		case typ == 'o' && media == nil:
			if haveOrigin {
				err = fail("o= repeated")
				break
			}
			s.Origin, err = parseOrigin(val)
			haveOrigin = true
		case typ == 's' && media == nil:
			s.Name = val
		case typ == 'c':
			var c *Connection
			if c, err = parseConnection(val); err == nil {
				if media == nil {
					s.Connection = c
				} else {
					media.Connection = c
				}
			}
		case typ == 'm':
			media, err = parseMedia(val)
			if err == nil {
				s.Media = append(s.Media, media)
			}
		case typ == 'a':
			a := parseAttribute(val)
			if a.Key == "rtpmap" {
				_, rest, _ := strings.Cut(a.Value, " ")
				_, err = parseRtpmap(rest)
			}
			if media == nil {
				s.Attributes = append(s.Attributes, a)
			} else {
				media.Attributes = append(media.Attributes, a)
			}
		case media == nil:
			s.Fields = append(s.Fields, Field{Type: typ, Value: val})
		default:
			media.Fields = append(media.Fields, Field{Type: typ, Value: val})
		}
		if err != nil {
			if e, ok := err.(*Error); ok && e.LineNo == 0 {
				return nil, fail(e.Msg)
			}
			return nil, err
		}
	}
	if seen == 0 {
		return nil, &Error{Msg: "empty description"}
	}
	if !haveOrigin {
		return nil, &Error{Msg: "no o= line"}
	}
	if s.Name == "" {
		s.Name = "-"
	}
	return s, nil
}

func parseOrigin(v string) (Origin, error) {
	f := strings.Fields(v)
	if len(f) != 6 {
		return Origin{}, &Error{Msg: "want o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>"}
	}
	ver, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return Origin{}, &Error{Msg: "session version is not a number"}
	}
	return Origin{Username: f[0], SessionID: f[1], Version: ver, NetType: f[3], AddrType: f[4], Address: f[5]}, nil
}

func parseConnection(v string) (*Connection, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return nil, &Error{Msg: "want c=<nettype> <addrtype> <address>"}
	}
	if f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return nil, &Error{Msg: "only IN IP4 and IN IP6 connections are supported"}
	}
	return &Connection{NetType: f[0], AddrType: f[1], Address: f[2]}, nil
}

func parseMedia(v string) (*Media, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
		return nil, &Error{Msg: "want m=<media> <port>[/<count>] <proto> <fmt> ..."}
	}
	m := &Media{Type: f[0], Proto: f[2], Payloads: f[3:]}
	port, count, hasCount := strings.Cut(f[1], "/")
	var err error
	if m.Port, err = strconv.Atoi(port); err != nil || m.Port < 0 || m.Port > 65535 {
		return nil, &Error{Msg: "bad port"}
	}
	if hasCount {
		if m.NumPorts, err = strconv.Atoi(count); err != nil || m.NumPorts < 1 {
			return nil, &Error{Msg: "bad port count"}
		}
	}
	return m, nil
}

func parseAttribute(v string) Attribute {
	k, val, ok := strings.Cut(v, ":")
	return Attribute{Key: k, Value: val, Flag: !ok}
}
