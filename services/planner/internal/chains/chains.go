// Package chains keeps the planner's multi-application requests: the
// single-application requests a request naming several applications was
// split into, in rollout order, and how far each has come. Decide is the
// pure rule for what one rollout's end means for the rest; the Store
// applies its updates with the EVENTS sequence they came from, in one
// transaction, so a restart resumes where it stopped.
package chains

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
)

// State is where a member of a chain stands.
type State string

const (
	// Waiting: not yet requested; the member before it has not completed.
	Waiting State = "waiting"
	// Requested: its deploy request is published; it plans and runs.
	Requested State = "requested"
	// Completed: its rollout completed.
	Completed State = "completed"
	// Ended: its rollout ended without completing (rejected, failed,
	// aborted, rolled back), which stopped the members after it.
	Ended State = "ended"
	// Stopped: never requested because a member before it ended.
	Stopped State = "stopped"
)

// Member is one application of a chain.
type Member struct {
	Chain    string
	Position int
	Request  contracts.DeployRequest
	State    State
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS chain_members (
	rollout  TEXT PRIMARY KEY,
	chain    TEXT NOT NULL,
	position INTEGER NOT NULL,
	request  TEXT NOT NULL,
	state    TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX IF NOT EXISTS chain_members_order ON chain_members (chain, position)`,
	`CREATE TABLE IF NOT EXISTS chain_cursor (
	stream TEXT PRIMARY KEY,
	seq    INTEGER NOT NULL
	) WITHOUT ROWID`,
}

// Store is the chains' SQLite record (tables beside the planner's others).
type Store struct {
	db *sqlx.DB
}

// Open opens (creating if needed) the chains' tables in the file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, schema...)
	if err != nil {
		return nil, fmt.Errorf("chains: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Create records a chain of requests in rollout order, the first one
// Requested and the rest Waiting. Creating the same chain again changes
// nothing, so a redelivered request is harmless.
func (s *Store) Create(ctx context.Context, chain string, members []contracts.DeployRequest) error {
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for i, m := range members {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			state := Waiting
			if i == 0 {
				state = Requested
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO chain_members (rollout, chain, position, request, state)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, m.ID, chain, i, string(b), state); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record chain %s: %w", chain, err)
	}
	return nil
}

type row struct {
	Rollout  string `db:"rollout"`
	Chain    string `db:"chain"`
	Position int    `db:"position"`
	Request  string `db:"request"`
	State    string `db:"state"`
}

func (r row) member() (Member, error) {
	m := Member{Chain: r.Chain, Position: r.Position, State: State(r.State)}
	if err := json.Unmarshal([]byte(r.Request), &m.Request); err != nil {
		return Member{}, fmt.Errorf("chain %s member %s: %w", r.Chain, r.Rollout, err)
	}
	return m, nil
}

// Of returns the chain that rollout is a member of, in order, or nil when
// it is no member of a chain.
func (s *Store) Of(ctx context.Context, rollout string) ([]Member, error) {
	var chain string
	err := s.db.GetContext(ctx, &chain, `SELECT chain FROM chain_members WHERE rollout = ?`, rollout)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up rollout %s in chains: %w", rollout, err)
	}
	return s.Chain(ctx, chain)
}

// Chain returns the members of a chain in order.
func (s *Store) Chain(ctx context.Context, chain string) ([]Member, error) {
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, `SELECT rollout, chain, position, request, state FROM chain_members
		WHERE chain = ? ORDER BY position`, chain); err != nil {
		return nil, fmt.Errorf("read chain %s: %w", chain, err)
	}
	out := make([]Member, 0, len(rows))
	for _, r := range rows {
		m, err := r.member()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Cursor returns the EVENTS sequence the chains have applied.
func (s *Store) Cursor(ctx context.Context, stream string) (uint64, error) {
	var seq uint64
	err := s.db.GetContext(ctx, &seq, `SELECT seq FROM chain_cursor WHERE stream = ?`, stream)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read chain cursor of %s: %w", stream, err)
	}
	return seq, nil
}

// Update sets a member's state.
type Update struct {
	Rollout string
	State   State
}

// Apply stores the updates and the stream sequence they bring the chains
// to, in one transaction.
func (s *Store) Apply(ctx context.Context, stream string, seq uint64, updates []Update) error {
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, u := range updates {
			if _, err := tx.ExecContext(ctx, `UPDATE chain_members SET state = ? WHERE rollout = ?`, u.State, u.Rollout); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO chain_cursor (stream, seq) VALUES (?, ?)
			ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`, stream, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("apply chain events up to %s/%d: %w", stream, seq, err)
	}
	return nil
}
