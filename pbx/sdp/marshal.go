package sdp

import (
	"strconv"
	"strings"
)

// Marshal writes the description with CRLF line ends in RFC 8866 order:
// v o s [i u e p] c [b t r z k and unknown] a, then each m= section as
// m [i] c [b k and unknown] a. Lines keep their relative order otherwise.
func (s *Session) Marshal() []byte {
	var b strings.Builder
	b.Grow(512)
	line := func(t byte, v string) {
		b.WriteByte(t)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	o := s.Origin
	line('v', "0")
	line('o', o.Username+" "+o.SessionID+" "+strconv.FormatUint(o.Version, 10)+" "+o.NetType+" "+o.AddrType+" "+o.Address)
	line('s', s.Name)
	writeSection(line, s.Fields, s.Connection, s.Attributes, "iuep")
	for _, m := range s.Media {
		port := strconv.Itoa(m.Port)
		if m.NumPorts > 0 {
			port += "/" + strconv.Itoa(m.NumPorts)
		}
		line('m', m.Type+" "+port+" "+m.Proto+" "+strings.Join(m.Payloads, " "))
		writeSection(line, m.Fields, m.Connection, m.Attributes, "i")
	}
	return []byte(b.String())
}

// writeSection writes fields whose type is in before, then c=, then the
// other fields, then the attributes.
func writeSection(line func(byte, string), fields []Field, c *Connection, attrs []Attribute, before string) {
	for _, f := range fields {
		if strings.IndexByte(before, f.Type) >= 0 {
			line(f.Type, f.Value)
		}
	}
	if c != nil {
		line('c', c.String())
	}
	for _, f := range fields {
		if strings.IndexByte(before, f.Type) < 0 {
			line(f.Type, f.Value)
		}
	}
	for _, a := range attrs {
		line('a', a.String())
	}
}
