package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Binding is one registered contact of an extension.
type Binding struct {
	Ext       string
	Contact   string // the Contact URI as registered
	Expires   time.Time
	Received  string // source host:port the REGISTER came from
	NAT       bool   // Contact unreachable as written: send to Received
	Transport string // UDP or TCP
	UserAgent string
	CallID    string
	CSeq      uint32
}

// Registration is one REGISTER's change to an extension's bindings.
type Registration struct {
	Ext       string
	CallID    string
	CSeq      uint32
	RemoveAll bool      // "Contact: *" with Expires: 0
	Contacts  []Binding // a zero or past Expires removes that contact
}

// ErrOutOfOrder reports a REGISTER older than the stored binding (same
// Call-ID, CSeq not higher: RFC 3261 10.3 step 7).
var ErrOutOfOrder = errors.New("register out of order")

const bindingCols = `ext, contact, expires, received, nat, transport, user_agent, call_id, cseq`

// Register applies r atomically and returns the extension's live bindings
// once the change is durable.
func (s *Store) Register(ctx context.Context, r Registration, now time.Time) ([]Binding, error) {
	var out []Binding
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		if r.RemoveAll {
			if _, err := tx.Exec(`DELETE FROM bindings WHERE ext=?`, r.Ext); err != nil {
				return err
			}
		}
		for _, b := range r.Contacts {
			if err := s.applyBinding(tx, r, b, now); err != nil {
				return err
			}
		}
		var err error
		out, err = scanBindings(tx.StmtContext(ctx, s.q.bindingsOf).QueryContext(ctx, r.Ext, now.Unix()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", r.Ext, err)
	}
	return out, nil
}

func (s *Store) applyBinding(tx *sql.Tx, r Registration, b Binding, now time.Time) error {
	var callID string
	var cseq uint32
	err := tx.Stmt(s.q.binding).QueryRow(r.Ext, b.Contact).Scan(&callID, &cseq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case callID == r.CallID && r.CSeq <= cseq:
		return fmt.Errorf("%w: contact %s", ErrOutOfOrder, b.Contact)
	}
	if !b.Expires.After(now) {
		_, err := tx.Stmt(s.q.deleteBinding).Exec(r.Ext, b.Contact)
		return err
	}
	_, err = tx.Stmt(s.q.upsertBinding).Exec(
		r.Ext, b.Contact, b.Expires.Unix(), b.Received, b.NAT, b.Transport, b.UserAgent, r.CallID, r.CSeq, now.Unix())
	return err
}

// Lookup returns the live bindings of ext.
func (s *Store) Lookup(ctx context.Context, ext string, now time.Time) ([]Binding, error) {
	out, err := scanBindings(s.q.lookup.QueryContext(ctx, ext, now.Unix()))
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", ext, err)
	}
	return out, nil
}

// Bindings returns every live binding, ordered by extension.
func (s *Store) Bindings(ctx context.Context, now time.Time) ([]Binding, error) {
	out, err := scanBindings(s.rd.QueryContext(ctx, `SELECT `+bindingCols+` FROM bindings WHERE expires>? ORDER BY ext, contact`, now.Unix()))
	if err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	return out, nil
}

// PurgeExpired deletes bindings that expired at or before now.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		r, err := tx.Exec(`DELETE FROM bindings WHERE expires<=?`, now.Unix())
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge expired bindings: %w", err)
	}
	return n, nil
}

func scanBindings(rows *sql.Rows, err error) ([]Binding, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		var b Binding
		var exp int64
		if err := rows.Scan(&b.Ext, &b.Contact, &exp, &b.Received, &b.NAT, &b.Transport, &b.UserAgent, &b.CallID, &b.CSeq); err != nil {
			return nil, err
		}
		b.Expires = time.Unix(exp, 0)
		out = append(out, b)
	}
	return out, rows.Err()
}
