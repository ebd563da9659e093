package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"pbxha/internal/groupcommit"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 512

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("store closed")

type op struct {
	fn   func(*sql.Tx) error
	done chan error
}

// writer is the group-commit loop: one goroutine takes every pending write,
// runs each in its own savepoint inside one transaction, commits once (one
// fsync) and then tells every submitter the outcome. A write whose function
// fails is rolled back to its savepoint without affecting its batch mates.
type writer struct {
	db     *sql.DB
	q      *prepared
	ops    chan op
	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

func startWriter(db *sql.DB, q *prepared) *writer {
	w := &writer{db: db, q: q, ops: make(chan op, maxBatch), done: make(chan struct{})}
	go w.loop()
	return w
}

// do queues fn and waits until the transaction that ran it is durable.
func (w *writer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	o := op{fn: fn, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.ops <- o:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued the write will happen: wait for it even if ctx ends, so a
	// caller never reports failure for a write that became durable.
	return <-o.done
}

func (w *writer) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ops)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]op, 0, maxBatch)
	for first := range w.ops {
		batch = groupcommit.Drain(w.ops, first, batch, maxBatch)
		w.commit(batch)
	}
}

func (w *writer) commit(batch []op) {
	errs := make([]error, len(batch))
	err := func() error {
		tx, err := w.db.Begin()
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		for i, o := range batch {
			errs[i] = w.savepoint(tx, o.fn)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	for i, o := range batch {
		if err != nil {
			errs[i] = err
		}
		o.done <- errs[i]
	}
}

// savepoint runs fn so that its failure undoes only its own changes.
func (w *writer) savepoint(tx *sql.Tx, fn func(*sql.Tx) error) error {
	if _, err := tx.Stmt(w.q.savepoint).Exec(); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(tx); err != nil {
		if _, rerr := tx.Stmt(w.q.rollback).Exec(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		_, _ = tx.Stmt(w.q.release).Exec()
		return err
	}
	if _, err := tx.Stmt(w.q.release).Exec(); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
