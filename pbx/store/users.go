package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// User is an extension that may register and call. Only digests of the
// password are kept (HA1 for MD5 and SHA-256, RFC 7616), bound to the realm
// recorded at Init.
type User struct {
	Ext       string
	Name      string
	HA1MD5    string
	HA1SHA256 string
	Record    bool // record every call this extension makes or takes
	Created   time.Time
}

// userCols are the columns scanUser reads, in its order.
const userCols = `ext, name, ha1_md5, ha1_sha256, record, created`

// ErrNoUser reports an unknown extension.
var ErrNoUser = errors.New("no such user")

var extPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-+]{1,32}$`)

// ValidExt reports whether ext is usable as a SIP user part and a key.
func ValidExt(ext string) error {
	if !extPattern.MatchString(ext) {
		return fmt.Errorf("invalid extension %q: want 1-32 of A-Z a-z 0-9 _ . - +", ext)
	}
	return nil
}

// AddUser creates or replaces a user.
func (s *Store) AddUser(ctx context.Context, u User) error {
	if err := ValidExt(u.Ext); err != nil {
		return err
	}
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO users(ext, name, ha1_md5, ha1_sha256, record, created) VALUES (?,?,?,?,?,?)
			ON CONFLICT(ext) DO UPDATE SET name=excluded.name, ha1_md5=excluded.ha1_md5, ha1_sha256=excluded.ha1_sha256,
			record=excluded.record`,
			u.Ext, u.Name, u.HA1MD5, u.HA1SHA256, u.Record, time.Now().Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("add user %s: %w", u.Ext, err)
	}
	return nil
}

// DelUser removes a user and its bindings.
func (s *Store) DelUser(ctx context.Context, ext string) error {
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		r, err := tx.Exec(`DELETE FROM users WHERE ext=?`, ext)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNoUser
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", ext, err)
	}
	return nil
}

// User returns one user.
func (s *Store) User(ctx context.Context, ext string) (User, error) {
	u, err := scanUser(s.q.user.QueryRowContext(ctx, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", ext, ErrNoUser)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", ext, err)
	}
	return u, nil
}

// scanUser reads a row of userCols.
func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := row.Scan(&u.Ext, &u.Name, &u.HA1MD5, &u.HA1SHA256, &u.Record, &created)
	u.Created = time.Unix(created, 0)
	return u, err
}

// Users lists all users ordered by extension.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY ext`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}
