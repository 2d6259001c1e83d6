// Package requests is the planner's durable record of request ids: each id
// with the digest of the request it names and whether its verdict is out.
// It makes ids single-use beyond the broker's duplicate window.
package requests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/pkg/sqlitedb"
)

// State is what the record says about a request id.
type State int

const (
	// New: the id is this request's, and its verdict is still to come
	// (first seen now, or claimed earlier and not yet decided).
	New State = iota
	// Decided: this same request already has its verdict; publish nothing.
	Decided
	// Conflict: the id names a different request; publish nothing.
	Conflict
)

func (s State) String() string {
	switch s {
	case New:
		return "new"
	case Decided:
		return "decided"
	case Conflict:
		return "conflict"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

const schema = `CREATE TABLE IF NOT EXISTS requests (
	id         TEXT PRIMARY KEY,
	digest     TEXT NOT NULL,
	decided    INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
) WITHOUT ROWID`

// Store is the record, in one SQLite file.
type Store struct {
	db *sqlx.DB
}

// Open opens (creating if needed) the record at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, schema)
	if err != nil {
		return nil, fmt.Errorf("request record: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Claim records id for the request with digest, unless the id is taken,
// and says what the caller may do.
func (s *Store) Claim(ctx context.Context, id, digest string, now time.Time) (State, error) {
	if digest == "" {
		return Conflict, errors.New("claim: empty digest")
	}
	state := New
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var row struct {
			Digest  string `db:"digest"`
			Decided bool   `db:"decided"`
		}
		err := tx.GetContext(ctx, &row, `SELECT digest, decided FROM requests WHERE id = ?`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO requests (id, digest, created_at) VALUES (?, ?, ?)`, id, digest, now.UTC().Format(time.RFC3339Nano))
			return err
		case err != nil:
			return err
		case row.Digest != digest:
			state = Conflict
		case row.Decided:
			state = Decided
		}
		return nil
	})
	if err != nil {
		return Conflict, fmt.Errorf("claim request id %s: %w", id, err)
	}
	return state, nil
}

// Decide records that id has its verdict.
func (s *Store) Decide(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE requests SET decided = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("record verdict of request %s: %w", id, err)
	}
	return nil
}
