package store

import (
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to i+1 (PRAGMA user_version).
// Append only: never edit a released step.
var migrations = []string{
	`CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE users (
		ext        TEXT PRIMARY KEY,
		name       TEXT NOT NULL DEFAULT '',
		ha1_md5    TEXT NOT NULL,
		ha1_sha256 TEXT NOT NULL,
		created    INTEGER NOT NULL
	);
	CREATE TABLE bindings (
		ext        TEXT NOT NULL REFERENCES users(ext) ON DELETE CASCADE,
		contact    TEXT NOT NULL,
		expires    INTEGER NOT NULL,
		received   TEXT NOT NULL,
		transport  TEXT NOT NULL,
		user_agent TEXT NOT NULL DEFAULT '',
		call_id    TEXT NOT NULL,
		cseq       INTEGER NOT NULL,
		updated    INTEGER NOT NULL,
		PRIMARY KEY (ext, contact)
	);
	CREATE INDEX bindings_expires ON bindings(expires);
	CREATE TABLE cdrs (
		id            INTEGER PRIMARY KEY AUTOINCREMENT,
		caller        TEXT NOT NULL,
		callee        TEXT NOT NULL,
		a_call_id     TEXT NOT NULL,
		b_call_id     TEXT NOT NULL DEFAULT '',
		start_time    INTEGER NOT NULL,
		answer_time   INTEGER,
		end_time      INTEGER NOT NULL,
		duration_ms   INTEGER NOT NULL,
		disposition   TEXT NOT NULL,
		sip_status    INTEGER NOT NULL,
		hangup_side   TEXT NOT NULL
	);
	CREATE INDEX cdrs_start ON cdrs(start_time);`,
	// 2: whether a binding was registered from behind a NAT, so that
	// requests go to the received address instead of the Contact.
	`ALTER TABLE bindings ADD COLUMN nat INTEGER NOT NULL DEFAULT 0;`,
	// 3: call recording: whether an extension's calls are recorded, and
	// the recording of each call (a path under the data directory).
	`ALTER TABLE users ADD COLUMN record INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE cdrs ADD COLUMN recording TEXT NOT NULL DEFAULT '';`,
}

func schemaVersion(db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func versionError(v int) error {
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this binary knows (%d): upgrade pbx", v, len(migrations))
	}
	return fmt.Errorf("schema version %d is older than this binary's (%d): run `pbx init` to migrate", v, len(migrations))
}

// migrate applies the missing steps, each in its own transaction together
// with its version bump.
func migrate(db *sql.DB) error {
	v, err := schemaVersion(db)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return versionError(v)
	}
	for ; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
	}
	return nil
}
