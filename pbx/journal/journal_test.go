package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	kindInvite Kind = iota + 1
	kindAnswer
	kindReinvite
)

func open(t *testing.T, dir string, o Options) (*Journal, *Result) {
	t.Helper()
	j, res, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return j, res
}

func appendAll(t *testing.T, j *Journal, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		if err := j.Append(r); err != nil {
			t.Fatalf("Append(%s/%d): %v", r.CallID, r.Kind, err)
		}
	}
}

func rec(id string, k Kind, data string) Record {
	return Record{CallID: id, Kind: k, Data: []byte(data)}
}

// summary renders records as "id/kind=data" for comparisons.
func summary(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%s/%d=%s ", r.CallID, r.Kind, r.Data)
	}
	return strings.TrimSpace(b.String())
}

func liveSummary(calls []Call) string {
	var parts []string
	for _, c := range calls {
		parts = append(parts, c.ID+"["+summary(c.Records)+"]")
	}
	return strings.Join(parts, " ")
}

var script = []Record{
	rec("c1", kindInvite, "inv1"),
	rec("c2", kindInvite, "inv2"),
	rec("c1", kindAnswer, "ans1"),
	rec("c3", kindInvite, "inv3"),
	rec("c1", kindReinvite, "hold"),
	rec("c2", End, ""),
	rec("c1", kindReinvite, "resume"),
	rec("c3", kindAnswer, "ans3"),
}

const scriptLive = "c1[c1/1=inv1 c1/2=ans1 c1/3=resume] c3[c3/1=inv3 c3/2=ans3]"

func TestAppendReplay(t *testing.T) {
	dir := t.TempDir()
	j, res := open(t, dir, Options{})
	if len(res.Records) != 0 || len(res.Damage) != 0 {
		t.Fatalf("fresh journal replayed %+v", res)
	}
	buf := []byte("inv1")
	appendAll(t, j, Record{CallID: "c1", Kind: kindInvite, Data: buf})
	copy(buf, "XXXX") // the caller may reuse its buffer
	appendAll(t, j, script[1:]...)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(res.Records), summary(script); got != want {
		t.Errorf("Replay records:\n%s\nwant\n%s", got, want)
	}
	if got := liveSummary(res.Live()); got != scriptLive {
		t.Errorf("Live:\n%s\nwant\n%s", got, scriptLive)
	}

	// Reopening compacts to the live state only, in one segment.
	j, res = open(t, dir, Options{})
	defer j.Close()
	if got := liveSummary(res.Live()); got != scriptLive {
		t.Errorf("Live after reopen:\n%s", got)
	}
	if j2, _, err := Open(dir, Options{}); err == nil {
		j2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	res, err = Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(res.Records); got != "c1/1=inv1 c1/2=ans1 c1/3=resume c3/1=inv3 c3/2=ans3" {
		t.Errorf("compacted records: %s", got)
	}
	if len(res.files) != 1 {
		t.Errorf("segments after compaction: %v", res.files)
	}
}

// TestQueue: queued records are written in order with the Appends around
// them, by the next group commit, and are on disk once Close returns;
// Queue after Close fails.
func TestQueue(t *testing.T) {
	dir := t.TempDir()
	j, _ := open(t, dir, Options{})
	for i, r := range script {
		var err error
		if i%2 == 0 {
			err = j.Queue(r)
		} else {
			err = j.Append(r) // also makes every queued record before it durable
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Queue(script[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("Queue after Close: %v", err)
	}
	res, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(res.Records), summary(script); got != want {
		t.Errorf("records:\n%s\nwant\n%s", got, want)
	}
}

func TestAppendErrors(t *testing.T) {
	j, _ := open(t, t.TempDir(), Options{})
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{"no call id", Record{Kind: kindInvite}, "without a call ID"},
		{"long call id", Record{CallID: strings.Repeat("x", 70000)}, "call ID of 70000 bytes"},
		{"too big", Record{CallID: "c", Data: make([]byte, MaxRecord)}, "over the"},
	}
	for _, tt := range tests {
		if err := j.Append(tt.rec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Append = %v; want %q", tt.name, err, tt.want)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(rec("c", kindInvite, "")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

// written returns the journal's one segment and the offsets of its frames,
// and cuts the preallocated zeros after the records off the file (the
// damage tests tear its end).
func written(t *testing.T, dir string) (path string, offsets []int) {
	t.Helper()
	nums, err := segments(dir)
	if err != nil || len(nums) != 1 {
		t.Fatalf("segments = %v, %v", nums, err)
	}
	path = filepath.Join(dir, segmentName(nums[0]))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pos := headerSize
	for pos < len(b) && !zeros(b[pos:]) {
		_, n, ok := decodeFrame(b[pos:])
		if !ok {
			t.Fatalf("bad frame at %d in a clean journal", pos)
		}
		offsets = append(offsets, pos)
		pos += n
	}
	if err := os.WriteFile(path, b[:pos], 0o640); err != nil {
		t.Fatal(err)
	}
	return path, offsets
}

// TestPreallocated: the active segment is zero-padded ahead of its records
// (its size, not its records, is what changes rarely); replay ends at the
// padding without reporting damage, and a record torn inside the padding
// (its start written, the rest still zeros) is a torn tail of the length
// that was written.
func TestPreallocated(t *testing.T) {
	dir := t.TempDir()
	j, _ := open(t, dir, Options{})
	appendAll(t, j, script...)
	logical := j.Stats().Bytes
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	nums, _ := segments(dir)
	path := filepath.Join(dir, segmentName(nums[len(nums)-1]))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < logical+allocChunk/2 || !zeros(b[logical:]) {
		t.Fatalf("segment of %d bytes for %d bytes of records: want zero padding after them", len(b), logical)
	}
	res, err := Replay(dir)
	if err != nil || len(res.Damage) != 0 || summary(res.Records) != summary(script) {
		t.Fatalf("replay of a padded segment: %v, damage %v, records %s", err, res.Damage, summary(res.Records))
	}
	// Tear the last record: its second half never reached the disk.
	n := int64(frameHead + bodyHead + len("c3") + len("ans3")) // the last record's frame
	last := logical - n
	clear(b[last+n/2 : logical])
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	res, err = Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Damage) != 1 || res.Damage[0].Offset != last || res.Damage[0].Length > n/2 || len(res.Records) != len(script)-1 {
		t.Fatalf("torn into the padding: damage %v (want one tail at %d), %d records", res.Damage, last, len(res.Records))
	}
}

// TestDamage: torn tails and corrupted records cost only themselves; the
// damage is reported, Open still succeeds, and the reopened journal is
// clean again.
func TestDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, off []int) []byte
		lost   []int // indexes into script of the records lost
		reason []string
	}{
		{"torn in length", func(b []byte, off []int) []byte { return b[:off[7]+2] }, []int{7}, []string{"tail"}},
		{"torn in body", func(b []byte, off []int) []byte { return b[:len(b)-1] }, []int{7}, []string{"tail"}},
		{"body byte", func(b []byte, off []int) []byte { b[off[3]+frameHead+2] ^= 0x40; return b }, []int{3}, []string{"corrupted record"}},
		{"length byte", func(b []byte, off []int) []byte { b[off[2]+1] ^= 0x01; return b }, []int{2}, []string{"corrupted record"}},
		{"crc byte", func(b []byte, off []int) []byte { b[off[0]+5] ^= 0xff; return b }, []int{0}, []string{"corrupted record"}},
		{"corrupt and torn", func(b []byte, off []int) []byte { b[off[4]+frameHead] ^= 1; return b[:off[6]+12] }, []int{4, 6, 7}, []string{"corrupted record", "tail"}},
		{"header", func(b []byte, off []int) []byte { b[0] = 'X'; return b }, []int{0, 1, 2, 3, 4, 5, 6, 7}, []string{"no segment header"}},
		// A flipped version digit fails the header CRC: damage, not a
		// newer format that would stop the PBX from starting.
		{"version digit", func(b []byte, off []int) []byte { b[6] = '2'; return b }, []int{0, 1, 2, 3, 4, 5, 6, 7}, []string{"no segment header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _ := open(t, dir, Options{})
			appendAll(t, j, script...)
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			path, off := written(t, dir)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(b, off), 0o640); err != nil {
				t.Fatal(err)
			}
			var want []Record
			for i, r := range script {
				if !contains(tt.lost, i) {
					want = append(want, r)
				}
			}
			j, res := open(t, dir, Options{})
			if got := summary(res.Records); got != summary(want) {
				t.Errorf("kept:\n%s\nwant\n%s", got, summary(want))
			}
			if len(res.Damage) != len(tt.reason) {
				t.Fatalf("damage = %v; want %d reports", res.Damage, len(tt.reason))
			}
			for i, d := range res.Damage {
				if !strings.Contains(d.Reason, tt.reason[i]) || d.Length <= 0 && tt.reason[i] != "no segment header" {
					t.Errorf("damage %d = %v; want %q", i, d, tt.reason[i])
				}
			}
			// The journal goes on; the damage does not come back.
			appendAll(t, j, rec("c9", kindInvite, "after"))
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			res, err = Replay(dir)
			if err != nil || len(res.Damage) != 0 {
				t.Fatalf("after reopen: %v, damage %v", err, res.Damage)
			}
			if l := res.Live(); l[len(l)-1].ID != "c9" {
				t.Errorf("record appended after recovery missing: %s", liveSummary(l))
			}
		})
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestSnapshotSupersedes: a crash after a compaction's rename but before
// the old segments were deleted leaves them behind; Replay ignores them
// and Open removes them, along with a half-written snapshot.
func TestSnapshotSupersedes(t *testing.T) {
	dir := t.TempDir()
	j, _ := open(t, dir, Options{})
	appendAll(t, j, rec("old", kindInvite, "x"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	nums, _ := segments(dir)
	oldSeg := filepath.Join(dir, segmentName(nums[0]))
	stale, err := os.ReadFile(oldSeg)
	if err != nil {
		t.Fatal(err)
	}
	j, _ = open(t, dir, Options{}) // compacts into the next segment
	appendAll(t, j, rec("old", End, ""), rec("new", kindInvite, "y"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// Put back the superseded segment as a crash would have left it, and
	// a torn temporary snapshot.
	if err := os.WriteFile(oldSeg, stale, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(99)+".tmp"), []byte("PBXJ"), 0o640); err != nil {
		t.Fatal(err)
	}
	res, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := liveSummary(res.Live()); got != "new[new/1=y]" || len(res.obsolete) != 1 {
		t.Errorf("Live = %s, obsolete = %v", got, res.obsolete)
	}
	j, _ = open(t, dir, Options{})
	defer j.Close()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 { // LOCK and the new snapshot
		t.Errorf("directory after Open: %v", names)
	}
}

// TestGroupCommit: concurrent Appends all become durable and share fsyncs.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	j, _ := open(t, dir, Options{})
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := j.Append(rec(fmt.Sprintf("w%d", w), Kind(i%200), "x")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := j.Stats()
	syncs := int(st.Syncs)
	if st.Appends != writers*each || st.LiveCalls != writers {
		t.Errorf("Stats = %+v; want %d appends, %d live calls", st, writers*each, writers)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != writers*each {
		t.Errorf("replayed %d records; want %d", len(res.Records), writers*each)
	}
	if syncs >= writers*each {
		t.Errorf("%d fsyncs for %d concurrent appends: no group commit", syncs, writers*each)
	}
	t.Logf("%d appends, %d fsyncs", writers*each, syncs)
}

// TestCompactionBoundsGrowth: thousands of calls come and go; the journal
// stays near its compaction threshold and keeps exactly the live calls.
func TestCompactionBoundsGrowth(t *testing.T) {
	dir := t.TempDir()
	const limit = 8 << 10
	j, _ := open(t, dir, Options{CompactBytes: limit})
	sdp := strings.Repeat("s", 300)
	maxSize := int64(0)
	for i := range 600 {
		id := fmt.Sprintf("call-%d", i)
		appendAll(t, j, rec(id, kindInvite, sdp), rec(id, kindAnswer, sdp))
		if i%200 != 7 { // calls 7, 207, 407 stay up
			appendAll(t, j, rec(id, End, ""))
		}
		if i%20 == 0 {
			maxSize = max(maxSize, dirSize(t, dir))
		}
	}
	if st := j.Stats(); st.Compactions < 10 || st.LiveCalls != 3 || st.Bytes > 2*limit {
		t.Errorf("Stats = %+v; want many compactions, 3 live calls, a small segment", st)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if maxSize > 3*limit {
		t.Errorf("journal grew to %d bytes with a %d compaction threshold", maxSize, limit)
	}
	res, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range res.Live() {
		ids = append(ids, c.ID)
	}
	if got := strings.Join(ids, " "); got != "call-7 call-207 call-407" {
		t.Errorf("live calls after compactions: %s", got)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		fi, err := e.Info()
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

func TestOpenErrors(t *testing.T) {
	// A segment of another format version is refused, not dropped as damage.
	dir := t.TempDir()
	newer := []byte("PBXJRN2\x01")
	newer = binary.LittleEndian.AppendUint32(newer, crc32.Checksum(newer, castagnoli))
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), append(newer, "records"...), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "another pbx version") {
		t.Errorf("Open of a newer journal = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(1))); err != nil {
		t.Errorf("the newer segment is gone: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(filepath.Join(file, "journal"), Options{}); err == nil {
		t.Error("Open under a regular file succeeded")
	}
}

// FuzzReadSegment: no segment content makes Replay panic, every byte is
// either in a record or in a Damage report, and whole frames are found.
func FuzzReadSegment(f *testing.F) {
	var seed []byte
	for _, r := range script {
		seed = appendFrame(seed, &r)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var res Result
		seg := append(segmentHeader(0), body...)
		res.readSegment("f", seg)
		covered := int64(headerSize)
		for _, r := range res.Records {
			covered += int64(frameHead + bodyHead + len(r.CallID) + len(r.Data))
		}
		for _, d := range res.Damage {
			covered += d.Length
		}
		if covered != int64(len(seg)) {
			t.Fatalf("records and damage cover %d of %d bytes", covered, len(seg))
		}
	})
}
