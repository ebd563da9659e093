// Package recovery is the PBX's dialog journal as the SIP side sees it: a
// sipd.CallObserver that writes every call state change through the
// group-committed pbx/journal before the message committing it leaves, and
// the replay that turns the journal back into the sipd.CallRecords a
// restarted PBX restores.
//
//	j, rep, err := recovery.Open(filepath.Join(data, "journal"), journal.Options{})
//	for _, d := range rep.Dropped { log.Warn(d) }  // torn tail, corruption: never fatal
//	srv, _ := sipd.New(sipd.Config{..., Observer: j})
//	srv.Restore(ctx, rep.Calls, sipd.RestoreOptions{})
//
// A call's state is one record from its answer on (the latest supersedes
// the earlier ones);
// Ended writes the journal's End record, so compaction drops the call and
// the journal holds only the calls that are up.
package recovery

import (
	"fmt"
	"log/slog"
	"sync"

	"pbxha/pbx/journal"
	"pbxha/pbx/sipd"
)

// kindCall is a record holding one sipd.CallRecord (codec.go). Kind 1
// (JSON) was used briefly during development: such records are reported
// and dropped.
const kindCall journal.Kind = 2

// Journal is a journal-backed sipd.CallObserver. Its methods are safe for
// concurrent use.
type Journal struct {
	j   *journal.Journal
	log *slog.Logger

	mu   sync.Mutex
	live map[string]struct{} // calls with a record: only they need an End
}

// Replayed is what Open read back.
type Replayed struct {
	// Calls are the calls that had no End record, in the order they
	// first appeared.
	Calls []sipd.CallRecord
	// Dropped describes what could not be used: torn or corrupted
	// stretches of the journal, and records that did not decode.
	Dropped []string
}

// Open replays the journal in dir and opens it for appending. Damage does
// not make it fail: it is reported in Replayed.Dropped, and records that
// do not decode are ended so compaction removes them.
func Open(dir string, o journal.Options, log *slog.Logger) (*Journal, Replayed, error) {
	if log == nil {
		log = slog.Default()
	}
	j, res, err := journal.Open(dir, o)
	if err != nil {
		return nil, Replayed{}, fmt.Errorf("recovery: %w", err)
	}
	rj := &Journal{j: j, log: log, live: map[string]struct{}{}}
	rep, undecodable := replayed(res)
	for _, id := range undecodable {
		if err := j.Append(journal.Record{CallID: id, Kind: journal.End}); err != nil {
			j.Close()
			return nil, Replayed{}, fmt.Errorf("recovery: drop call %s: %w", id, err)
		}
	}
	for _, rec := range rep.Calls {
		rj.live[rec.ID] = struct{}{}
	}
	return rj, rep, nil
}

// Read replays the journal in dir without opening it for writing (and
// without taking its lock): what a PBX starting now would restore.
func Read(dir string) (Replayed, error) {
	res, err := journal.Replay(dir)
	if err != nil {
		return Replayed{}, fmt.Errorf("recovery: %w", err)
	}
	rep, _ := replayed(res)
	return rep, nil
}

// replayed decodes the live calls of a replay; undecodable lists the calls
// whose records did not decode (reported in Dropped).
func replayed(res *journal.Result) (rep Replayed, undecodable []string) {
	for _, d := range res.Damage {
		rep.Dropped = append(rep.Dropped, d.String())
	}
	for _, c := range res.Live() {
		rec, err := decode(c)
		if err != nil {
			rep.Dropped = append(rep.Dropped, err.Error())
			undecodable = append(undecodable, c.ID)
			continue
		}
		rep.Calls = append(rep.Calls, rec)
	}
	return rep, undecodable
}

// decode returns the call record of a journaled call.
func decode(c journal.Call) (sipd.CallRecord, error) {
	var rec sipd.CallRecord
	for _, r := range c.Records {
		if r.Kind != kindCall {
			continue
		}
		rec, err := decodeRecord(r.Data)
		if err != nil {
			return rec, fmt.Errorf("call %s: undecodable record: %w", c.ID, err)
		}
		if rec.ID != c.ID {
			return rec, fmt.Errorf("call %s: record names call %q", c.ID, rec.ID)
		}
		return rec, nil
	}
	return rec, fmt.Errorf("call %s: no call record", c.ID)
}

// Changed makes rec durable; it returns once the record is on disk. Calls
// not yet answered are not journaled: restoring cannot carry them on (the
// caller's INVITE transaction dies with the PBX), and skipping them keeps
// an fsync off the ringing path.
func (j *Journal) Changed(rec sipd.CallRecord) error { return j.write(rec, j.j.Append) }

// ChangedLater queues rec for the next group commit and returns at once;
// a failure is logged.
func (j *Journal) ChangedLater(rec sipd.CallRecord) {
	if err := j.write(rec, j.j.Queue); err != nil {
		j.log.Error("journal call", "call", rec.ID, "err", err)
	}
}

// write encodes rec and hands it to put (Append or Queue), skipping calls
// not yet answered (see Changed).
func (j *Journal) write(rec sipd.CallRecord, put func(journal.Record) error) error {
	if rec.State < sipd.Answered {
		return nil
	}
	b, err := encode(&rec)
	if err != nil {
		return fmt.Errorf("recovery: encode call %s: %w", rec.ID, err)
	}
	if err := put(journal.Record{CallID: rec.ID, Kind: kindCall, Data: b}); err != nil {
		return fmt.Errorf("recovery: call %s: %w", rec.ID, err)
	}
	j.mu.Lock()
	j.live[rec.ID] = struct{}{}
	j.mu.Unlock()
	return nil
}

// Ended records that the call is over, so that it is not restored and
// compaction drops it; nobody waits for it. Calls that never had a record
// cost nothing.
func (j *Journal) Ended(id string) {
	j.mu.Lock()
	_, ok := j.live[id]
	delete(j.live, id)
	j.mu.Unlock()
	if !ok {
		return
	}
	if err := j.j.Queue(journal.Record{CallID: id, Kind: journal.End}); err != nil {
		// The call would be restored after a restart and then ended by
		// its RTP timeout: logged, not fatal.
		j.log.Error("journal end of call", "call", id, "err", err)
	}
}

// Stats are the underlying journal's counters.
func (j *Journal) Stats() journal.Stats { return j.j.Stats() }

// Close waits for pending writes and closes the journal.
func (j *Journal) Close() error {
	if err := j.j.Close(); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return nil
}
