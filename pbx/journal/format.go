package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// On-disk format. A segment file starts with a 12-byte header: the magic
// "PBXJRN" and a format version digit ("1"), a flags byte (flagSnapshot:
// the segment holds the complete live state when it was written, so every
// older segment is obsolete), and the CRC-32C of those 8 bytes. Every
// version keeps this header, so a segment of another version is told from
// a damaged one. Records follow, each framed as
//
//	uint32 LE  body length
//	uint32 LE  CRC-32C (Castagnoli) of the body
//	body:      kind (1 byte) | call ID length (uint16 LE) | call ID | payload
const (
	magic        = "PBXJRN1"
	magicFamily  = "PBXJRN" // the magic without its version digit
	headerSize   = 12
	flagSnapshot = 1
	frameHead    = 8
	bodyHead     = 3
	// MaxRecord bounds a record's body; larger Appends are refused.
	MaxRecord = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kind is the record type chosen by the caller; End is reserved.
type Kind uint8

// End marks a call as over: compaction drops every record of its call ID.
const End Kind = 255

// Record is one journal entry.
type Record struct {
	CallID string
	Kind   Kind
	Data   []byte
}

func (r *Record) check() error {
	switch {
	case r.CallID == "":
		return fmt.Errorf("journal: record without a call ID")
	case len(r.CallID) > 0xffff:
		return fmt.Errorf("journal: call ID of %d bytes", len(r.CallID))
	case bodyHead+len(r.CallID)+len(r.Data) > MaxRecord:
		return fmt.Errorf("journal: record of %d bytes for %s is over the %d limit", len(r.Data), r.CallID, MaxRecord)
	}
	return nil
}

// segmentHeader returns the header of a segment with flags.
func segmentHeader(flags byte) []byte {
	h := append([]byte(magic), flags)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

// parseHeader checks a segment's header: valid when its CRC matches (the
// magic and version are then as written), ours when it is this version.
func parseHeader(b []byte) (magicVersion string, flags byte, valid bool) {
	if len(b) < headerSize || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) ||
		string(b[:len(magicFamily)]) != magicFamily {
		return "", 0, false
	}
	return string(b[:len(magic)]), b[len(magic)], true
}

// appendFrame appends r's frame to b.
func appendFrame(b []byte, r *Record) []byte {
	n := bodyHead + len(r.CallID) + len(r.Data)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = append(b, 0, 0, 0, 0) // CRC, filled below
	b = append(b, byte(r.Kind))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.CallID)))
	b = append(b, r.CallID...)
	b = append(b, r.Data...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+frameHead:], castagnoli))
	return b
}

// decodeFrame decodes the frame at the start of b. It returns the record
// (Data aliases b), the frame's size, and false when b does not start with
// a whole frame whose checksum matches.
func decodeFrame(b []byte) (Record, int, bool) {
	if len(b) < frameHead+bodyHead {
		return Record{}, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < bodyHead || n > MaxRecord || len(b) < frameHead+n {
		return Record{}, 0, false
	}
	body := b[frameHead : frameHead+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return Record{}, 0, false
	}
	idLen := int(binary.LittleEndian.Uint16(body[1:]))
	if idLen == 0 || bodyHead+idLen > n {
		return Record{}, 0, false
	}
	return Record{
		Kind:   Kind(body[0]),
		CallID: string(body[bodyHead : bodyHead+idLen]),
		Data:   body[bodyHead+idLen:],
	}, frameHead + n, true
}
