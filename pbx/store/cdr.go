package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Disposition of a finished call.
const (
	Answered  = "ANSWERED"
	NoAnswer  = "NO ANSWER" // callee did not answer in time (408)
	Busy      = "BUSY"
	Cancelled = "CANCELLED"
	Failed    = "FAILED"
)

// CDR is the record of one call, written when it ends.
type CDR struct {
	ID          int64
	Caller      string
	Callee      string
	ACallID     string
	BCallID     string
	Start       time.Time
	Answer      time.Time // zero when never answered
	End         time.Time
	Disposition string
	SIPStatus   int    // final status sent to the caller
	HangupSide  string // "caller", "callee" or "pbx"
	Recording   string // the call's recording, relative to the data directory; "" when not recorded
}

// Duration is the answered duration (zero when unanswered).
func (c CDR) Duration() time.Duration {
	if c.Answer.IsZero() {
		return 0
	}
	return c.End.Sub(c.Answer)
}

// AddCDR stores c durably.
func (s *Store) AddCDR(ctx context.Context, c CDR) error {
	var answer any
	if !c.Answer.IsZero() {
		answer = c.Answer.UnixMilli()
	}
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO cdrs(caller, callee, a_call_id, b_call_id, start_time, answer_time,
			end_time, duration_ms, disposition, sip_status, hangup_side, recording) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.Caller, c.Callee, c.ACallID, c.BCallID, c.Start.UnixMilli(), answer, c.End.UnixMilli(),
			c.Duration().Milliseconds(), c.Disposition, c.SIPStatus, c.HangupSide, c.Recording)
		return err
	})
	if err != nil {
		return fmt.Errorf("add cdr for %s: %w", c.ACallID, err)
	}
	return nil
}

// CDRs returns the latest limit records, newest first.
func (s *Store) CDRs(ctx context.Context, limit int) ([]CDR, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT id, caller, callee, a_call_id, b_call_id, start_time, answer_time,
		end_time, disposition, sip_status, hangup_side, recording FROM cdrs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	defer rows.Close()
	var out []CDR
	for rows.Next() {
		var c CDR
		var start, end int64
		var answer sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Caller, &c.Callee, &c.ACallID, &c.BCallID, &start, &answer, &end,
			&c.Disposition, &c.SIPStatus, &c.HangupSide, &c.Recording); err != nil {
			return nil, fmt.Errorf("list cdrs: %w", err)
		}
		c.Start, c.End = time.UnixMilli(start), time.UnixMilli(end)
		if answer.Valid {
			c.Answer = time.UnixMilli(answer.Int64)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	return out, nil
}
