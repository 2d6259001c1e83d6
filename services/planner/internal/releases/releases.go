// Package releases is the planner's record of rollouts, learned from the
// EVENTS stream: each rollout with who asked, what it deployed and how it
// ended, and the request it was planned from. Each batch of events is
// applied in one transaction with the stream sequence of its last event,
// so a restarted planner resumes where it stopped and a deleted database
// rebuilds from the stream. Lifecycle checks, history and promotions read
// it.
package releases

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS rollouts (
	id           TEXT PRIMARY KEY,
	app          TEXT NOT NULL,
	version      TEXT NOT NULL,
	environment  TEXT NOT NULL,
	strategy     TEXT NOT NULL DEFAULT '',
	requested_by TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	override     TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL,
	end_reason   TEXT NOT NULL DEFAULT '',
	hosts        INTEGER NOT NULL DEFAULT 0,
	batches      INTEGER NOT NULL DEFAULT 0,
	planned_at   TEXT NOT NULL,
	started_at   TEXT,
	ended_at     TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS rollouts_release ON rollouts (app, version, environment, state)`,
	`CREATE INDEX IF NOT EXISTS rollouts_planned ON rollouts (planned_at)`,
	// accepted holds the request each planned rollout came from, for
	// promotions.
	`CREATE TABLE IF NOT EXISTS accepted (
	rollout TEXT PRIMARY KEY,
	body    TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS cursors (
	stream TEXT PRIMARY KEY,
	seq    INTEGER NOT NULL
	) WITHOUT ROWID`,
}

// Store is the record, in one SQLite file (it may share the planner's
// request record file: the tables differ).
type Store struct {
	db *sqlx.DB
}

// Open opens (creating if needed) the record at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, schema...)
	if err != nil {
		return nil, fmt.Errorf("rollout record: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Change is what one event says about its rollout.
type Change struct {
	Type        contracts.EventType
	Rollout     string
	App         string
	Version     string
	Environment string
	At          time.Time
	// Set from a planned event's plan.
	Strategy    contracts.Strategy
	RequestedBy string
	Reason      string
	Override    string
	Hosts       int
	Batches     int
	// EndReason is the reason of a failed or aborted event.
	EndReason string
}

// FromEvent turns an event into a change; ok is false for events the
// record does not keep.
func FromEvent(t contracts.EventType, at time.Time, ev contracts.Event) (Change, bool) {
	c := Change{Type: t, Rollout: ev.Rollout, App: ev.App, Version: ev.Version, Environment: ev.Environment, At: at.UTC()}
	switch t {
	case contracts.EventPlanned:
		if p := ev.Plan; p != nil {
			c.Strategy, c.RequestedBy, c.Reason = p.Strategy, p.RequestedBy, p.Reason
			if p.LifecycleOverride != nil {
				c.Override = p.LifecycleOverride.Reason
			}
			c.Hosts = p.TotalHosts()
			for _, ph := range p.Phases {
				c.Batches += len(ph.Batches)
			}
		} else if r := ev.PlanRef; r != nil {
			// A large plan is stored by reference; its summary has what
			// the record keeps.
			sm := r.Summary
			c.Strategy, c.RequestedBy, c.Reason, c.Override = sm.Strategy, sm.RequestedBy, sm.Reason, sm.Override
			c.Hosts, c.Batches = sm.Hosts, sm.Batches
		}
		if c.RequestedBy == "" {
			c.RequestedBy = ev.Actor
		}
	case contracts.EventStarted:
	case contracts.EventCompleted, contracts.EventFailed, contracts.EventAborted:
		c.EndReason = ev.Reason
	default:
		return Change{}, false
	}
	if c.Rollout == "" || c.App == "" || c.Version == "" || c.Environment == "" {
		return Change{}, false
	}
	return c, true
}

const timeFormat = time.RFC3339Nano

// Cursor returns the last applied sequence of stream, 0 when none.
func (s *Store) Cursor(ctx context.Context, stream string) (uint64, error) {
	var seq uint64
	err := s.db.GetContext(ctx, &seq, `SELECT seq FROM cursors WHERE stream = ?`, stream)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read cursor of %s: %w", stream, err)
	}
	return seq, nil
}

// Apply records changes and, in the same transaction, seq as the last
// applied sequence of stream. A change for a terminal rollout changes
// nothing (a late or repeated event).
func (s *Store) Apply(ctx context.Context, stream string, seq uint64, changes []Change) error {
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, c := range changes {
			if err := apply(ctx, tx, c); err != nil {
				return fmt.Errorf("rollout %s: %w", c.Rollout, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (stream, seq) VALUES (?, ?)
			ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`, stream, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("apply events up to %s/%d: %w", stream, seq, err)
	}
	return nil
}

const notTerminal = `state NOT IN ('completed', 'failed', 'aborted')`

func apply(ctx context.Context, tx *sqlx.Tx, c Change) error {
	at := c.At.Format(timeFormat)
	var err error
	switch c.Type {
	case contracts.EventPlanned:
		_, err = tx.ExecContext(ctx, `INSERT INTO rollouts
			(id, app, version, environment, strategy, requested_by, reason, override, state, hosts, batches, planned_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			c.Rollout, c.App, c.Version, c.Environment, string(c.Strategy), c.RequestedBy, c.Reason, c.Override, c.Hosts, c.Batches, at)
	case contracts.EventStarted:
		_, err = tx.ExecContext(ctx, `INSERT INTO rollouts (id, app, version, environment, state, planned_at, started_at)
			VALUES (?, ?, ?, ?, 'running', ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = 'running', started_at = COALESCE(started_at, excluded.started_at)
			WHERE `+notTerminal,
			c.Rollout, c.App, c.Version, c.Environment, at, at)
	default:
		// A rollout whose planned event is gone from the stream still
		// counts by its end.
		_, err = tx.ExecContext(ctx, `INSERT INTO rollouts (id, app, version, environment, state, end_reason, planned_at, ended_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, end_reason = excluded.end_reason, ended_at = excluded.ended_at
			WHERE `+notTerminal,
			c.Rollout, c.App, c.Version, c.Environment, string(c.Type), c.EndReason, at, at)
	}
	return err
}

// Completed reports whether app@version completed in env.
func (s *Store) Completed(ctx context.Context, app, version, env string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM rollouts
		WHERE app = ? AND version = ? AND environment = ? AND state = 'completed'`, app, version, env)
	if err != nil {
		return false, fmt.Errorf("look up %s@%s in %s: %w", app, version, env, err)
	}
	return n > 0, nil
}

// Accept records the request a rollout is planned from.
func (s *Store) Accept(ctx context.Context, rollout string, body []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO accepted (rollout, body) VALUES (?, ?)
		ON CONFLICT (rollout) DO UPDATE SET body = excluded.body`, rollout, string(body))
	if err != nil {
		return fmt.Errorf("record the request of rollout %s: %w", rollout, err)
	}
	return nil
}

// Source is the last completed rollout of a release with its request.
type Source struct {
	Rollout     string
	Environment string
	Body        []byte
}

// LastCompleted returns the most recently ended completed rollout of
// app@version whose request is recorded; ok is false when there is none.
func (s *Store) LastCompleted(ctx context.Context, app, version string) (Source, bool, error) {
	var row struct {
		ID   string `db:"id"`
		Env  string `db:"environment"`
		Body string `db:"body"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT r.id, r.environment, a.body FROM rollouts r JOIN accepted a ON a.rollout = r.id
		WHERE r.app = ? AND r.version = ? AND r.state = 'completed'
		ORDER BY r.ended_at DESC, r.id DESC LIMIT 1`, app, version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Source{}, false, nil
	case err != nil:
		return Source{}, false, fmt.Errorf("look up the last completed rollout of %s@%s: %w", app, version, err)
	}
	return Source{Rollout: row.ID, Environment: row.Env, Body: []byte(row.Body)}, true, nil
}

type recordRow struct {
	ID          string         `db:"id"`
	App         string         `db:"app"`
	Version     string         `db:"version"`
	Environment string         `db:"environment"`
	Strategy    string         `db:"strategy"`
	RequestedBy string         `db:"requested_by"`
	Reason      string         `db:"reason"`
	Override    string         `db:"override"`
	State       string         `db:"state"`
	EndReason   string         `db:"end_reason"`
	Hosts       int            `db:"hosts"`
	Batches     int            `db:"batches"`
	PlannedAt   string         `db:"planned_at"`
	StartedAt   sql.NullString `db:"started_at"`
	EndedAt     sql.NullString `db:"ended_at"`
}

// History returns the rollouts q selects, newest planned first.
func (s *Store) History(ctx context.Context, q contracts.RolloutHistoryQuery) ([]contracts.RolloutRecord, error) {
	var where []string
	var args []any
	if q.App != "" {
		where, args = append(where, "app = ?"), append(args, q.App)
	}
	if q.Environment != "" {
		where, args = append(where, "environment = ?"), append(args, q.Environment)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = contracts.DefaultHistoryLimit
	}
	query := `SELECT id, app, version, environment, strategy, requested_by, reason, override, state, end_reason,
		hosts, batches, planned_at, started_at, ended_at FROM rollouts`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY planned_at DESC, id DESC LIMIT ?"
	var rows []recordRow
	if err := s.db.SelectContext(ctx, &rows, query, append(args, limit)...); err != nil {
		return nil, fmt.Errorf("read rollout history: %w", err)
	}
	out := make([]contracts.RolloutRecord, 0, len(rows))
	for _, r := range rows {
		rec := contracts.RolloutRecord{
			Rollout: r.ID, App: r.App, Version: r.Version, Environment: r.Environment,
			Strategy: contracts.Strategy(r.Strategy), RequestedBy: r.RequestedBy, Reason: r.Reason,
			LifecycleOverride: r.Override, State: contracts.State(r.State), EndReason: r.EndReason,
			Hosts: r.Hosts, Batches: r.Batches, PlannedAt: parseTime(r.PlannedAt),
			StartedAt: parseNullTime(r.StartedAt), EndedAt: parseNullTime(r.EndedAt),
		}
		out = append(out, rec)
	}
	return out, nil
}

// Durations returns how long the last n completed rollouts of app in env
// ran (started to ended) and their batch counts, newest first, for
// estimates.
func (s *Store) Durations(ctx context.Context, app, env string, n int) ([]Run, error) {
	var rows []struct {
		Batches   int    `db:"batches"`
		StartedAt string `db:"started_at"`
		EndedAt   string `db:"ended_at"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT batches, started_at, ended_at FROM rollouts
		WHERE app = ? AND environment = ? AND state = 'completed' AND started_at IS NOT NULL AND ended_at IS NOT NULL AND batches > 0
		ORDER BY ended_at DESC LIMIT ?`, app, env, n)
	if err != nil {
		return nil, fmt.Errorf("read durations of %s in %s: %w", app, env, err)
	}
	out := make([]Run, 0, len(rows))
	for _, r := range rows {
		d := parseTime(r.EndedAt).Sub(parseTime(r.StartedAt))
		if d >= 0 {
			out = append(out, Run{Batches: r.Batches, Duration: d})
		}
	}
	return out, nil
}

// Run is how long one completed rollout took over how many batches.
type Run struct {
	Batches  int
	Duration time.Duration
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

func parseNullTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}
