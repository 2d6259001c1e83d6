package discovery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
	"github.com/rollwave/rollwave/services/discovery/internal/versions"
)

// schema of the version read model. host_versions is derived entirely from
// the RESULTS stream; cursors records, in the same transaction as each
// batch of updates, the last stream sequence applied.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS host_versions (
		environment TEXT NOT NULL,
		host        TEXT NOT NULL,
		app         TEXT NOT NULL,
		version     TEXT NOT NULL,
		rollout     TEXT NOT NULL DEFAULT '',
		updated_at  TEXT NOT NULL,
		unverified  INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (environment, host, app)
	)`,
	// version_history keeps every version a result recorded, in the same
	// transaction, so it too rebuilds from the stream.
	`CREATE TABLE IF NOT EXISTS version_history (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		environment TEXT NOT NULL,
		host        TEXT NOT NULL,
		app         TEXT NOT NULL,
		version     TEXT NOT NULL,
		rollout     TEXT NOT NULL DEFAULT '',
		at          TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS version_history_by_host ON version_history (environment, host, app)`,
	`CREATE TABLE IF NOT EXISTS cursors (
		stream TEXT PRIMARY KEY,
		seq    INTEGER NOT NULL
	)`,
}

// store is the SQLite read model of which version runs where.
type store struct {
	db *sqlx.DB
}

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlitedb.Open(ctx, path, schema...)
	if err != nil {
		return nil, err
	}
	if err := sqlitedb.AddColumn(ctx, db, "host_versions", "unverified", "INTEGER NOT NULL DEFAULT 0"); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// cursor returns the last applied sequence of stream, 0 when none.
func (s *store) cursor(ctx context.Context, stream string) (uint64, error) {
	var seq uint64
	err := s.db.GetContext(ctx, &seq, `SELECT seq FROM cursors WHERE stream = ?`, stream)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor of %s: %w", stream, err)
	}
	return seq, nil
}

// apply upserts the updates and moves the cursor of stream to seq, in one
// transaction: after a crash either both happened or neither did.
func (s *store) apply(ctx context.Context, stream string, seq uint64, updates []versions.Update) error {
	return sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, u := range updates {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO host_versions (environment, host, app, version, rollout, updated_at, unverified)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (environment, host, app) DO UPDATE SET
					version = excluded.version, rollout = excluded.rollout, updated_at = excluded.updated_at,
					unverified = excluded.unverified`,
				u.Environment, u.Host, u.App, u.Version, u.Rollout, u.UpdatedAt.UTC().Format(time.RFC3339Nano), u.Unverified)
			if err != nil {
				return fmt.Errorf("record version of %s on %s/%s: %w", u.App, u.Environment, u.Host, err)
			}
			if err := recordHistory(ctx, tx, u); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO cursors (stream, seq) VALUES (?, ?)
			ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`, stream, seq)
		if err != nil {
			return fmt.Errorf("record cursor of %s: %w", stream, err)
		}
		return nil
	})
}

// hostVersions maps host to app to version.
type hostVersions map[string]map[string]contracts.HostVersion

// versions returns the recorded versions by environment, optionally of one
// environment and one app ("" means all).
func (s *store) versions(ctx context.Context, env, app string) (map[string]hostVersions, error) {
	q := `SELECT environment, host, app, version, rollout, updated_at, unverified FROM host_versions WHERE 1 = 1`
	var args []any
	if env != "" {
		q += ` AND environment = ?`
		args = append(args, env)
	}
	if app != "" {
		q += ` AND app = ?`
		args = append(args, app)
	}
	var rows []struct {
		Environment string `db:"environment"`
		Host        string `db:"host"`
		App         string `db:"app"`
		Version     string `db:"version"`
		Rollout     string `db:"rollout"`
		UpdatedAt   string `db:"updated_at"`
		Unverified  bool   `db:"unverified"`
	}
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	out := map[string]hostVersions{}
	for _, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, r.UpdatedAt)
		if err != nil {
			return nil, fmt.Errorf("read versions: bad updated_at %q of %s/%s: %w", r.UpdatedAt, r.Environment, r.Host, err)
		}
		if out[r.Environment] == nil {
			out[r.Environment] = hostVersions{}
		}
		if out[r.Environment][r.Host] == nil {
			out[r.Environment][r.Host] = map[string]contracts.HostVersion{}
		}
		out[r.Environment][r.Host][r.App] = contracts.HostVersion{Version: r.Version, Rollout: r.Rollout, UpdatedAt: at, Unverified: r.Unverified}
	}
	return out, nil
}
