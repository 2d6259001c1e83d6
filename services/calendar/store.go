package calendar

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
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
	// What later kinds of window add lives beside the first table, so
	// databases written before it keep opening unchanged.
	`CREATE TABLE IF NOT EXISTS window_rules (
		id           TEXT PRIMARY KEY REFERENCES windows (id) ON DELETE CASCADE,
		environments TEXT NOT NULL DEFAULT '[]',
		rrule        TEXT NOT NULL DEFAULT '',
		exdates      TEXT NOT NULL DEFAULT '[]',
		team         TEXT NOT NULL DEFAULT '',
		label        TEXT NOT NULL DEFAULT '',
		force_reason TEXT NOT NULL DEFAULT ''
	)`,
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
const columns = `w.id, w.environment, w.kind, w.start_at, w.end_at, w.timezone, w.reason, w.created_by,
	coalesce(r.environments, '[]') AS environments, coalesce(r.rrule, '') AS rrule, coalesce(r.exdates, '[]') AS exdates,
	coalesce(r.team, '') AS team, coalesce(r.label, '') AS label, coalesce(r.force_reason, '') AS force_reason`

const from = ` FROM windows w LEFT JOIN window_rules r ON r.id = w.id`

type row struct {
	ID          string `db:"id"`
	Environment string `db:"environment"`
	Kind        string `db:"kind"`
	StartAt     string `db:"start_at"`
	EndAt       string `db:"end_at"`
	TimeZone    string `db:"timezone"`
	Reason      string `db:"reason"`
	CreatedBy   string `db:"created_by"`
	Envs        string `db:"environments"`
	RRule       string `db:"rrule"`
	ExDates     string `db:"exdates"`
	Team        string `db:"team"`
	Label       string `db:"label"`
	ForceReason string `db:"force_reason"`
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
	w := contracts.Window{ID: r.ID, Environment: r.Environment, Kind: contracts.WindowKind(r.Kind),
		Start: start, End: end, TimeZone: r.TimeZone, Reason: r.Reason, CreatedBy: r.CreatedBy,
		RRule: r.RRule, Team: r.Team, Label: r.Label, ForceReason: r.ForceReason}
	if err := json.Unmarshal([]byte(r.Envs), &w.Environments); err != nil {
		return contracts.Window{}, fmt.Errorf("window %s: bad environments %q: %w", r.ID, r.Envs, err)
	}
	var ex []string
	if err := json.Unmarshal([]byte(r.ExDates), &ex); err != nil {
		return contracts.Window{}, fmt.Errorf("window %s: bad exdates %q: %w", r.ID, r.ExDates, err)
	}
	for _, e := range ex {
		t, err := time.Parse(instantLayout, e)
		if err != nil {
			return contracts.Window{}, fmt.Errorf("window %s: bad exdate %q: %w", r.ID, e, err)
		}
		w.ExDates = append(w.ExDates, t)
	}
	return w, nil
}

// insert stores new windows in one transaction, all or none;
// errDuplicateID when an id is taken.
func (s *store) insert(ctx context.Context, ws ...contracts.Window) error {
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, w := range ws {
			if err := insertTx(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
		return errDuplicateID
	}
	if err != nil {
		return fmt.Errorf("insert window: %w", err)
	}
	return nil
}

func insertTx(ctx context.Context, tx *sqlx.Tx, w contracts.Window) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO windows (id, environment, kind, start_at, end_at, timezone, reason, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Environment, string(w.Kind), format(w.Start), format(w.End), w.TimeZone, w.Reason, w.CreatedBy); err != nil {
		return err
	}
	envs, err := json.Marshal(nonNil(w.Environments))
	if err != nil {
		return err
	}
	ex := make([]string, 0, len(w.ExDates))
	for _, t := range w.ExDates {
		ex = append(ex, format(t))
	}
	exJSON, err := json.Marshal(ex)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO window_rules (id, environments, rrule, exdates, team, label, force_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, w.ID, string(envs), w.RRule, string(exJSON), w.Team, w.Label, w.ForceReason)
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// list returns windows sorted by start, then id: those that apply to env
// when it is set, and only those not over at activeAt when it is set.
func (s *store) list(ctx context.Context, env string, activeAt *time.Time) ([]contracts.Window, error) {
	q := `SELECT ` + columns + from + ` WHERE 1 = 1`
	var args []any
	if activeAt != nil {
		q += ` AND (w.end_at > ? OR coalesce(r.rrule, '') != '')`
		args = append(args, format(*activeAt))
	}
	q += ` ORDER BY w.start_at, w.id`
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
		if env != "" && !windows.AppliesTo(w, env) {
			continue
		}
		if activeAt != nil && !windows.ActiveAt(w, *activeAt) {
			continue
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
		if err := tx.GetContext(ctx, &r, `SELECT `+columns+from+` WHERE w.id = ?`, id); err != nil {
			return err
		}
		var err error
		if w, err = r.window(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM window_rules WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete window rule %s: %w", id, err)
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
