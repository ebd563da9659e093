package journal

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Damage is a stretch of a segment that Replay skipped.
type Damage struct {
	File   string
	Offset int64
	Length int64
	Reason string
}

func (d Damage) String() string {
	return fmt.Sprintf("%s: %d bytes at offset %d skipped: %s", d.File, d.Length, d.Offset, d.Reason)
}

// Result is what Replay read.
type Result struct {
	// Records holds every complete record, in the order appended.
	Records []Record
	// Damage lists what was skipped: torn tails, corrupted records, bad
	// segment headers. Replay never fails because of damage.
	Damage []Damage
	// files are the segment names read, oldest first; obsolete are the
	// segments superseded by a snapshot (not read).
	files, obsolete []string
}

// Call is one call still live in the journal: the last record of each
// kind, in the order they were appended.
type Call struct {
	ID      string
	Records []Record
}

// Live folds Records into the calls that have no End record, in the order
// each call first appeared. This is what recovery rebuilds.
func (r *Result) Live() []Call {
	var s liveSet
	for _, rec := range r.Records {
		s.apply(rec)
	}
	return s.calls()
}

// liveSet is the fold of a record stream: calls without End, last record
// of each kind.
type liveSet struct {
	m   map[string]*Call
	seq map[string]uint64 // first-seen order
	n   uint64
}

func (s *liveSet) apply(rec Record) {
	if s.m == nil {
		s.m, s.seq = map[string]*Call{}, map[string]uint64{}
	}
	if rec.Kind == End {
		delete(s.m, rec.CallID)
		delete(s.seq, rec.CallID)
		return
	}
	c := s.m[rec.CallID]
	if c == nil {
		c = &Call{ID: rec.CallID}
		s.m[rec.CallID] = c
		s.n++
		s.seq[rec.CallID] = s.n
	}
	c.Records = slices.DeleteFunc(c.Records, func(o Record) bool { return o.Kind == rec.Kind })
	c.Records = append(c.Records, rec)
}

func (s *liveSet) calls() []Call {
	out := make([]Call, 0, len(s.m))
	for _, c := range s.m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Call) int { return cmp.Compare(s.seq[a.ID], s.seq[b.ID]) })
	return out
}

// size is the number of bytes the live set takes as frames.
func (s *liveSet) size() int64 {
	var n int64
	for _, c := range s.m {
		for _, r := range c.Records {
			n += int64(frameHead + bodyHead + len(r.CallID) + len(r.Data))
		}
	}
	return n
}

// segmentName is the file name of segment number n.
func segmentName(n uint64) string { return fmt.Sprintf("%016x.jnl", n) }

// segments lists the segment files of dir by number, oldest first.
func segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".jnl")
		if !ok || len(name) != 16 {
			continue
		}
		if n, err := strconv.ParseUint(name, 16, 64); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Replay reads the journal in dir without changing it. Segments older than
// the newest snapshot are skipped as obsolete.
func Replay(dir string) (*Result, error) {
	nums, err := segments(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	data := make([][]byte, len(nums))
	first := 0
	for i, n := range nums {
		b, err := os.ReadFile(filepath.Join(dir, segmentName(n)))
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		data[i] = b
		version, flags, valid := parseHeader(b)
		if valid && version != magic {
			// Not damage (the header's CRC holds): a format this binary
			// does not know. Compaction would delete it, so refuse.
			return nil, fmt.Errorf("journal: %s is in format %q, not %q: written by another pbx version",
				filepath.Join(dir, segmentName(n)), version, magic)
		}
		if valid && flags&flagSnapshot != 0 {
			first = i
		}
	}
	for i, n := range nums {
		name := segmentName(n)
		if i < first {
			res.obsolete = append(res.obsolete, name)
			continue
		}
		res.files = append(res.files, name)
		res.readSegment(name, data[i])
	}
	return res, nil
}

// readSegment appends b's records and damage to res. After a bad frame it
// resynchronises on the next offset where a whole frame checks out, so one
// corrupted record costs only itself; bad bytes up to the end are a torn
// tail. Zeros up to the end are the segment's preallocated space: its end.
func (res *Result) readSegment(name string, b []byte) {
	if _, _, valid := parseHeader(b); !valid {
		res.Damage = append(res.Damage, Damage{File: name, Length: int64(len(b)), Reason: "no segment header"})
		return
	}
	pos := headerSize
	for pos < len(b) {
		if rec, n, ok := decodeFrame(b[pos:]); ok {
			res.Records = append(res.Records, rec)
			pos += n
			continue
		}
		if zeros(b[pos:]) {
			return // the preallocated space: no frame starts with a zero length
		}
		next := pos + 1
		for ; next < len(b); next++ {
			if _, _, ok := decodeFrame(b[next:]); ok {
				break
			}
		}
		reason := "corrupted record"
		if next == len(b) {
			reason = "torn or corrupted tail"
			next = pos + len(bytes.TrimRight(b[pos:], "\x00")) // the padding after it is not damage
		}
		res.Damage = append(res.Damage, Damage{File: name, Offset: int64(pos), Length: int64(next - pos), Reason: reason})
		pos = next
	}
}

// zeros reports whether b holds only zero bytes.
func zeros(b []byte) bool { return len(bytes.TrimLeft(b, "\x00")) == 0 }
