package daemon

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"pbxha/pbx/journal"
	"pbxha/pbx/media"
	"pbxha/pbx/recovery"
	"pbxha/pbx/sipd"
)

// openJournal opens the dialog journal in data/journal and returns the
// calls to restore. What a torn or corrupted tail cost is logged; it never
// stops the PBX from starting.
func openJournal(data string, log *slog.Logger) (*recovery.Journal, []sipd.CallRecord, error) {
	j, rep, err := recovery.Open(filepath.Join(data, "journal"), journal.Options{}, log)
	if err != nil {
		return nil, nil, fmt.Errorf("refusing to start: %w", err)
	}
	for _, d := range rep.Dropped {
		log.Warn("dialog journal: dropped", "what", d)
	}
	log.Info("dialog journal replayed", "calls", len(rep.Calls), "dropped", len(rep.Dropped))
	return j, rep.Calls, nil
}

// Restore re-binds a journaled call's relay ports on this PBX's address
// and reopens its recording to append. The phones' addresses are set by the
// caller from their descriptions. A recording that cannot be reopened is
// logged and the call goes on unrecorded: the call matters more.
func (f relays) Restore(rec sipd.CallRecord, latched func()) (sipd.Relay, error) {
	if rec.RelayA.Addr() != f.pool.Addr() || rec.RelayB.Addr() != f.pool.Addr() {
		return nil, fmt.Errorf("call %s: relay was on %s/%s, this PBX relays on %s", rec.ID, rec.RelayA, rec.RelayB, f.pool.Addr())
	}
	st := media.State{Legs: [2]media.LegState{{Port: int(rec.RelayA.Port())}, {Port: int(rec.RelayB.Port())}}}
	r, err := media.RestoreRelay(f.pool, st, media.Options{OnLatch: latched})
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", rec.ID, err)
	}
	out := &relay{f: f, r: r}
	if rec.Recorded != "" {
		if err := out.Record(rec.Recorded, rec.Answer); err != nil {
			f.log.Error("restored call: recording not reopened", "call", rec.ID, "err", err)
		}
	}
	return out, nil
}

// finishRecordings closes the recordings of journaled calls that will not
// be restored (answered but never confirmed), so that their files end on a
// whole frame with a header that counts them (a kill -9 may leave the last
// frame torn and the header behind the data).
func (f relays) finishRecordings(recs []sipd.CallRecord) {
	for _, rec := range recs {
		if rec.Recorded == "" || rec.State == sipd.Confirmed {
			continue
		}
		r, err := f.openRecording(rec.Recorded, rec.Answer)
		if err == nil {
			err = r.Close()
		}
		if err != nil {
			f.log.Warn("recording of an unrestored call", "call", rec.ID, "err", err)
		}
	}
}

// LastRTP is when RTP last arrived from either phone (the restore time
// for a restored relay that has had none since).
func (r *relay) LastRTP() time.Time {
	st := r.r.Stats()
	a, b := st.From[media.A].LastRTP, st.From[media.B].LastRTP
	if a.After(b) {
		return a
	}
	return b
}
