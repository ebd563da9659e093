// Package store keeps the PBX's durable state in one SQLite database (WAL)
// inside the data directory: users, registrar bindings, CDRs and settings.
// Writes go through a group-commit writer, so a caller learns its write is
// durable only after the transaction holding it has been fsynced, while many
// concurrent writers share one fsync.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3" // SQLite driver
)

// DBFile is the database file name inside the data directory.
const DBFile = "pbx.db"

// Subdirs are created by Init next to the database.
var Subdirs = []string{"recordings", "voicemail", "prompts", "journal"}

// ErrNotInitialised reports a data directory without a PBX database.
var ErrNotInitialised = errors.New("data directory is not initialised (run `pbx init --data DIR`)")

// Store is an open data directory.
type Store struct {
	dir string
	rd  *sql.DB // concurrent readers
	wr  *sql.DB // the single writer connection, owned by the group-commit loop
	w   *writer
	q   *prepared
}

// Init creates the directory layout and brings the schema up to date. On an
// initialised directory it changes nothing. realm is recorded the first time
// only: user digests are computed for it.
func Init(dir, realm string) error {
	if realm == "" {
		return errors.New("init: empty realm")
	}
	for _, d := range append([]string{""}, Subdirs...) {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return fmt.Errorf("init %s: %w", dir, err)
		}
	}
	db, err := sql.Open("sqlite3", dsn(dir, false))
	if err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	defer db.Close()
	if err := migrate(db); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	if _, err := db.Exec(`INSERT OR IGNORE INTO settings(key, value) VALUES ('realm', ?)`, realm); err != nil {
		return fmt.Errorf("init %s: record realm: %w", dir, err)
	}
	return nil
}

// Open opens an initialised data directory. It refuses a missing or
// uninitialised directory and a schema older or newer than this binary's.
func Open(dir string) (*Store, error) {
	st, err := os.Stat(filepath.Join(dir, DBFile))
	if err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: %w", dir, ErrNotInitialised)
	}
	wr, err := sql.Open("sqlite3", dsn(dir, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	wr.SetMaxOpenConns(1)
	v, err := schemaVersion(wr)
	if err == nil && v != len(migrations) {
		err = versionError(v)
	}
	if err != nil {
		wr.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	rd, err := sql.Open("sqlite3", dsn(dir, true))
	if err != nil {
		wr.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	rd.SetMaxOpenConns(4)
	q, err := prepare(rd, wr)
	if err != nil {
		rd.Close()
		wr.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	s := &Store{dir: dir, rd: rd, wr: wr, q: q}
	s.w = startWriter(wr, q)
	return s, nil
}

// prepared holds the statements every REGISTER runs, prepared once
// instead of on each call (go-sqlite3 prepares every unprepared query).
type prepared struct {
	user, lookup                          *sql.Stmt // on the readers
	savepoint, release, rollback          *sql.Stmt // on the writer
	binding, upsertBinding, deleteBinding *sql.Stmt
	bindingsOf                            *sql.Stmt
}

func prepare(rd, wr *sql.DB) (*prepared, error) {
	var q prepared
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		{rd, &q.user, `SELECT ` + userCols + ` FROM users WHERE ext=?`},
		{rd, &q.lookup, `SELECT ` + bindingCols + ` FROM bindings WHERE ext=? AND expires>? ORDER BY contact`},
		{wr, &q.savepoint, `SAVEPOINT op`},
		{wr, &q.release, `RELEASE op`},
		{wr, &q.rollback, `ROLLBACK TO op`},
		{wr, &q.binding, `SELECT call_id, cseq FROM bindings WHERE ext=? AND contact=?`},
		{wr, &q.upsertBinding, `INSERT INTO bindings(` + bindingCols + `, updated) VALUES (?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(ext, contact) DO UPDATE SET expires=excluded.expires, received=excluded.received,
			nat=excluded.nat, transport=excluded.transport, user_agent=excluded.user_agent,
			call_id=excluded.call_id, cseq=excluded.cseq, updated=excluded.updated`},
		{wr, &q.deleteBinding, `DELETE FROM bindings WHERE ext=? AND contact=?`},
		{wr, &q.bindingsOf, `SELECT ` + bindingCols + ` FROM bindings WHERE ext=? AND expires>? ORDER BY contact`},
	} {
		st, err := p.db.Prepare(p.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return &q, nil
}

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// Close waits for queued writes, then closes the database.
func (s *Store) Close() error {
	s.w.stop()
	return errors.Join(s.rd.Close(), s.wr.Close())
}

// Realm is the digest realm recorded by Init.
func (s *Store) Realm() (string, error) {
	var r string
	if err := s.rd.QueryRow(`SELECT value FROM settings WHERE key='realm'`).Scan(&r); err != nil {
		return "", fmt.Errorf("read realm: %w", err)
	}
	return r, nil
}

// NonceKey is the secret the registrar signs its digest nonces with. It is
// kept on the data volume, so after a failover the PBX on another node
// accepts the nonces its predecessor issued and phones are not challenged
// again. It is made on first use (data directories from before it existed
// get one then).
func (s *Store) NonceKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("nonce key: %w", err)
	}
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT OR IGNORE INTO settings(key, value) VALUES ('nonce_key', ?)`, hex.EncodeToString(fresh))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nonce key: %w", err)
	}
	var v string
	if err := s.rd.QueryRowContext(ctx, `SELECT value FROM settings WHERE key='nonce_key'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("nonce key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("nonce key: the stored value is not a key (%v)", err)
	}
	return key, nil
}

// dsn: WAL, synchronous=FULL (a commit is on disk when it returns), a busy
// timeout for the readers, foreign keys on.
func dsn(dir string, readOnly bool) string {
	p := "file:" + filepath.Join(dir, DBFile) +
		"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on"
	if readOnly {
		p += "&mode=ro"
	}
	return p
}
