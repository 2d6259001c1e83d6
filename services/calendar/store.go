package calendar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
)

// Instants are stored as fixed-width UTC text, which sorts and compares in
// SQL as the instants do (windows.Parse keeps years within 1970-9999).
const instantLayout = "2006-01-02T15:04:05.000000000Z"

var schema = []string{
	`CREATE TABLE IF NOT EXISTS windows (
		id          TEXT PRIMARY KEY,
		environment TEXT NOT NULL,
		kind        TEXT NOT NULL,
		start_at    TEXT NOT NULL,
		end_at      TEXT NOT NULL,
		timezone    TEXT NOT NULL DEFAULT '',
		reason      TEXT NOT NULL DEFAULT '',
		created_by  TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS windows_by_environment ON windows (environment, end_at)`,
}

// errDuplicateID reports an id that is already taken.
var errDuplicateID = errors.New("window id already taken")

type store struct {
	db *sqlx.DB
}

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlitedb.Open(ctx, path, schema...)
	if err != nil {
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// columns are selected by name so that a column added later does not
// break reading.
const columns = `id, environment, kind, start_at, end_at, timezone, reason, created_by`

type row struct {
	ID          string `db:"id"`
	Environment string `db:"environment"`
	Kind        string `db:"kind"`
	StartAt     string `db:"start_at"`
	EndAt       string `db:"end_at"`
	TimeZone    string `db:"timezone"`
	Reason      string `db:"reason"`
	CreatedBy   string `db:"created_by"`
}

func format(t time.Time) string { return t.UTC().Format(instantLayout) }

func (r row) window() (contracts.Window, error) {
	start, err := time.Parse(instantLayout, r.StartAt)
	if err != nil {
		return contracts.Window{}, fmt.Errorf("window %s: bad start %q: %w", r.ID, r.StartAt, err)
	}
	end, err := time.Parse(instantLayout, r.EndAt)
	if err != nil {
		return contracts.Window{}, fmt.Errorf("window %s: bad end %q: %w", r.ID, r.EndAt, err)
	}
	return contracts.Window{ID: r.ID, Environment: r.Environment, Kind: contracts.WindowKind(r.Kind),
		Start: start, End: end, TimeZone: r.TimeZone, Reason: r.Reason, CreatedBy: r.CreatedBy}, nil
}

// insert stores a new window; errDuplicateID when its id is taken.
func (s *store) insert(ctx context.Context, w contracts.Window) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO windows (id, environment, kind, start_at, end_at, timezone, reason, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Environment, string(w.Kind), format(w.Start), format(w.End), w.TimeZone, w.Reason, w.CreatedBy)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
		return errDuplicateID
	}
	if err != nil {
		return fmt.Errorf("insert window: %w", err)
	}
	return nil
}

// list returns windows sorted by start, then id: of one environment when
// env is set, and only those not over at activeAt when it is set.
func (s *store) list(ctx context.Context, env string, activeAt *time.Time) ([]contracts.Window, error) {
	q := `SELECT ` + columns + ` FROM windows WHERE 1 = 1`
	var args []any
	if env != "" {
		q += ` AND environment = ?`
		args = append(args, env)
	}
	if activeAt != nil {
		q += ` AND end_at > ?`
		args = append(args, format(*activeAt))
	}
	q += ` ORDER BY start_at, id`
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list windows: %w", err)
	}
	out := make([]contracts.Window, 0, len(rows))
	for _, r := range rows {
		w, err := r.window()
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// remove deletes a window and returns it; sql.ErrNoRows when there is none.
func (s *store) remove(ctx context.Context, id string) (contracts.Window, error) {
	var w contracts.Window
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var r row
		if err := tx.GetContext(ctx, &r, `SELECT `+columns+` FROM windows WHERE id = ?`, id); err != nil {
			return err
		}
		var err error
		if w, err = r.window(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM windows WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete window %s: %w", id, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return contracts.Window{}, fmt.Errorf("remove window: %w", err)
	}
	return w, err
}

// counts returns the number of stored windows by environment.
func (s *store) counts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Environment string `db:"environment"`
		N           int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT environment, count(*) AS n FROM windows GROUP BY environment`); err != nil {
		return nil, fmt.Errorf("count windows: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Environment] = r.N
	}
	return out, nil
}
