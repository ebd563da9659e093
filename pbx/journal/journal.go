// Package journal is the PBX's durable dialog journal: an append-only log
// in one directory (on the DRBD volume in production) of opaque records
// keyed by call ID and a caller-chosen Kind, from which a restarted PBX
// rebuilds the calls that were up.
//
//	j, res, err := journal.Open(dir, journal.Options{})
//	for _, d := range res.Damage { log.Print(d) }     // torn tail etc.: reported, not fatal
//	for _, c := range res.Live() { recover(c) }       // calls without an End record
//	err = j.Append(journal.Record{CallID: id, Kind: kindAnswered, Data: b})  // durable on return
//	err = j.Append(journal.Record{CallID: id, Kind: journal.End})
//
// Durability: Append returns only after the record is fsynced (fdatasync).
// Concurrent Appends share one write and one fsync (group commit), so the
// cost of durability is paid per batch, not per record. The active segment
// is preallocated with zeros (and that size made durable) ahead of the
// records, which overwrite the zeros: the file's size and block map do not
// change on a commit, so its fdatasync flushes data only, not the
// filesystem's metadata journal as well. Replay ends a segment at its zero
// padding.
//
// Integrity: each record is framed with its length and a CRC-32C. Replay
// keeps every whole record, skips a corrupted one by resynchronising on
// the next valid frame, and reports torn tails and corruption as Damage.
//
// Semantics the caller relies on: for each call, the last record of each
// Kind supersedes earlier ones of that Kind; a record of Kind End removes
// the call. Compaction (when the active segment outgrows CompactBytes, and
// at Open) rewrites just that live state into a new snapshot segment and
// deletes the older ones, so the journal does not grow without bound.
package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"pbxha/internal/groupcommit"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// Options tune a journal; the zero value is the production setting.
type Options struct {
	// CompactBytes: compact when the active segment is larger than this
	// and than twice the live state. Default 8 MiB.
	CompactBytes int64
	// MaxBatch caps the records written per fsync. 0 means no cap; 1 is
	// one fsync per Append (the reference the benchmarks compare with).
	MaxBatch int
}

type request struct {
	rec  *Record
	done chan error // nil: queued, nobody waits (Queue)
}

// Journal is an open journal directory. Its methods are safe for
// concurrent use.
type Journal struct {
	dir  string
	opts Options
	lock *os.File // flock'ed: one writer per directory

	reqs    chan request
	stopped chan struct{}
	mu      sync.Mutex // guards closed against Append racing Close
	closed  bool

	// Owned by the writer goroutine.
	f       *os.File
	seg     uint64
	segSize int64 // end of the last record
	alloc   int64 // file size: zeros from segSize on
	live    liveSet
	buf     []byte
	err     error // sticky write error: a journal that failed to sync stays failed

	stats struct{ appends, syncs, compactions, bytes, live atomic.Int64 }
}

// Stats are the journal's counters since Open, for status and metrics.
type Stats struct {
	Appends     int64 // records made durable
	Syncs       int64 // fdatasyncs: Appends/Syncs is the group-commit factor
	Compactions int64 // including the one at Open
	Bytes       int64 // size of the active segment
	LiveCalls   int64 // calls without an End record
}

// Stats returns the current counters; safe to call at any time.
func (j *Journal) Stats() Stats {
	s := &j.stats
	return Stats{Appends: s.appends.Load(), Syncs: s.syncs.Load(), Compactions: s.compactions.Load(),
		Bytes: s.bytes.Load(), LiveCalls: s.live.Load()}
}

var donePool = sync.Pool{New: func() any { return make(chan error, 1) }}

// Open replays the journal in dir (creating dir if needed), compacts it
// into a fresh snapshot segment (which also drops any damage), and opens
// it for appending. It fails only when the directory cannot be used or is
// held by another process; damage is reported in the Result.
func Open(dir string, o Options) (*Journal, *Result, error) {
	if o.CompactBytes <= 0 {
		o.CompactBytes = 8 << 20
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("journal: %s is in use by another process: %w", dir, err)
	}
	res, err := Replay(dir)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	j := &Journal{dir: dir, opts: o, lock: lock, reqs: make(chan request, 1024), stopped: make(chan struct{})}
	for _, r := range res.Records {
		r.Data = append([]byte(nil), r.Data...) // detach from the file buffers
		j.live.apply(r)
	}
	nums, err := segments(dir)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	if len(nums) > 0 {
		j.seg = nums[len(nums)-1]
	}
	if err := j.compact(); err != nil {
		lock.Close()
		return nil, nil, err
	}
	go j.run()
	return j, res, nil
}

// Append writes rec and returns once it is on stable storage. The journal
// does not keep rec.Data: the caller may reuse it once Append returns.
func (j *Journal) Append(rec Record) error {
	done := donePool.Get().(chan error)
	defer donePool.Put(done)
	if err := j.enqueue(rec, done); err != nil {
		return err
	}
	return <-done
}

// Queue writes rec with the next group commit and returns at once: for
// records nothing waits on, whose loss in a crash just before that commit
// is acceptable. The journal keeps rec.Data: the caller must not change it.
// A write error is reported to the Appends of that commit and after.
func (j *Journal) Queue(rec Record) error { return j.enqueue(rec, nil) }

// enqueue hands rec to the writer, which answers on done (if not nil) once
// its commit is over.
func (j *Journal) enqueue(rec Record, done chan error) error {
	if err := rec.check(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	j.reqs <- request{rec: &rec, done: done}
	return nil
}

// Close waits for pending Appends, then closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	close(j.reqs)
	j.mu.Unlock()
	<-j.stopped
	return errors.Join(j.f.Close(), j.lock.Close())
}

// run is the writer: it takes every queued request, writes their frames
// with one write and one fdatasync, then answers them all.
func (j *Journal) run() {
	defer close(j.stopped)
	batch := make([]request, 0, 256)
	for first := range j.reqs {
		// Let the writers just released by the last commit queue up, so
		// they share this fsync instead of each starting a small batch.
		runtime.Gosched()
		batch = groupcommit.Drain(j.reqs, first, batch, j.opts.MaxBatch)
		err := j.commit(batch)
		for _, r := range batch {
			if r.done != nil {
				r.done <- err
			}
		}
	}
}

// commit makes a batch durable and folds it into the live set.
func (j *Journal) commit(batch []request) error {
	if j.err != nil {
		return j.err
	}
	j.buf = j.buf[:0]
	for _, r := range batch {
		j.buf = appendFrame(j.buf, r.rec)
	}
	if err := j.preallocate(j.segSize + int64(len(j.buf))); err != nil {
		j.err = err
		return j.err
	}
	if _, err := j.f.WriteAt(j.buf, j.segSize); err != nil {
		j.err = fmt.Errorf("journal: write %s: %w", j.f.Name(), err)
		return j.err
	}
	if err := unix.Fdatasync(int(j.f.Fd())); err != nil {
		j.err = fmt.Errorf("journal: fdatasync %s: %w", j.f.Name(), err)
		return j.err
	}
	j.segSize += int64(len(j.buf))
	j.stats.syncs.Add(1)
	j.stats.appends.Add(int64(len(batch)))
	j.stats.bytes.Store(j.segSize)
	for _, r := range batch {
		rec := *r.rec
		rec.Data = append([]byte(nil), rec.Data...)
		j.live.apply(rec)
	}
	j.stats.live.Store(int64(len(j.live.m)))
	if j.segSize > j.opts.CompactBytes && j.segSize > 2*j.live.size() {
		if err := j.compact(); err != nil {
			j.err = err
		}
	}
	return nil
}

// allocChunk is how much zero padding the active segment gains at a time
// (at most CompactBytes): one write and fsync per chunk of records.
const allocChunk = 2 << 20

func (j *Journal) chunk() int64 { return min(allocChunk, j.opts.CompactBytes) }

var zeroChunk [allocChunk]byte

// writeZeros fills f from offset from up to to with zeros.
func writeZeros(f *os.File, from, to int64) error {
	for from < to {
		n, err := f.WriteAt(zeroChunk[:min(to-from, allocChunk)], from)
		if err != nil {
			return err
		}
		from += int64(n)
	}
	return nil
}

// preallocate makes sure the active segment holds at least end bytes,
// growing it with zeros and syncing its new size before records use it.
func (j *Journal) preallocate(end int64) error {
	if end <= j.alloc {
		return nil
	}
	size := max(j.alloc+j.chunk(), end)
	if err := writeZeros(j.f, j.alloc, size); err != nil {
		return fmt.Errorf("journal: preallocate %s: %w", j.f.Name(), err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: preallocate %s: %w", j.f.Name(), err)
	}
	j.alloc = size
	return nil
}

// compact writes the live set into a new snapshot segment (under a
// temporary name, synced, then renamed and the directory synced), makes
// it the active segment and deletes every older one. A crash at any point
// leaves either the old segments or the complete snapshot in force.
func (j *Journal) compact() error {
	next := j.seg + 1
	final := filepath.Join(j.dir, segmentName(next))
	tmp := final + ".tmp"
	b := segmentHeader(flagSnapshot)
	for _, c := range j.live.calls() {
		for i := range c.Records {
			b = appendFrame(b, &c.Records[i])
		}
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("journal: compact: %w", err)
	}
	alloc := int64(len(b)) + j.chunk() // the padding is written and synced with the snapshot
	if _, err = f.Write(b); err == nil {
		err = writeZeros(f, int64(len(b)), alloc)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(j.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("journal: compact: %w", err)
	}
	old := j.f
	j.f, j.seg, j.segSize, j.alloc = f, next, int64(len(b)), alloc
	j.stats.compactions.Add(1)
	j.stats.bytes.Store(j.segSize)
	j.stats.live.Store(int64(len(j.live.m)))
	if old != nil {
		old.Close()
	}
	nums, err := segments(j.dir)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if n < next {
			if err := os.Remove(filepath.Join(j.dir, segmentName(n))); err != nil {
				return fmt.Errorf("journal: compact: %w", err)
			}
		}
	}
	// Leftovers of a compaction that crashed before its rename.
	tmps, _ := filepath.Glob(filepath.Join(j.dir, "*.jnl.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
	return syncDir(j.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
