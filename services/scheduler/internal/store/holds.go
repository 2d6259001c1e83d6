package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
)

// holdsSchema is the table of rollouts the calendar paused. It lives in
// the scheduler's database, written in the transaction that pauses or
// resumes the rollout, so that after a restart the scheduler still knows
// which pauses are the calendar's (and resumes them when the window ends)
// and which are an operator's (and never resumes them).
var holdsSchema = []string{
	`CREATE TABLE IF NOT EXISTS calendar_holds (
		rollout TEXT PRIMARY KEY,
		window_id TEXT NOT NULL,
		label TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL,
		since TEXT NOT NULL,
		override_actor TEXT NOT NULL DEFAULT '',
		override_reason TEXT NOT NULL DEFAULT ''
	)`,
}

// HoldChange saves a hold, or deletes the rollout's hold when Hold is nil.
type HoldChange struct {
	Rollout string
	Hold    *calhold.Hold
}

type holdRow struct {
	Rollout        string `db:"rollout"`
	Window         string `db:"window_id"`
	Label          string `db:"label"`
	State          string `db:"state"`
	Since          string `db:"since"`
	OverrideActor  string `db:"override_actor"`
	OverrideReason string `db:"override_reason"`
}

// Holds reads every calendar hold.
func (s *Store) Holds(ctx context.Context) (map[string]calhold.Hold, error) {
	var rows []holdRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT rollout, window_id, label, state, since, override_actor, override_reason
		FROM calendar_holds`); err != nil {
		return nil, fmt.Errorf("load calendar holds: %w", err)
	}
	out := make(map[string]calhold.Hold, len(rows))
	for _, r := range rows {
		since, err := parseTime(r.Since)
		if err != nil {
			return nil, fmt.Errorf("calendar hold of %s: since: %w", r.Rollout, err)
		}
		out[r.Rollout] = calhold.Hold{Rollout: r.Rollout, Window: r.Window, Label: r.Label, State: calhold.State(r.State),
			Since: since, OverrideActor: r.OverrideActor, OverrideReason: r.OverrideReason}
	}
	return out, nil
}

func writeHolds(ctx context.Context, tx *sqlx.Tx, changes []HoldChange) error {
	for _, c := range changes {
		if c.Hold == nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM calendar_holds WHERE rollout = ?`, c.Rollout); err != nil {
				return fmt.Errorf("delete calendar hold of %s: %w", c.Rollout, err)
			}
			continue
		}
		h := c.Hold
		if _, err := tx.ExecContext(ctx, `INSERT INTO calendar_holds (rollout, window_id, label, state, since, override_actor, override_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rollout) DO UPDATE SET window_id = excluded.window_id, label = excluded.label,
			state = excluded.state, since = excluded.since, override_actor = excluded.override_actor,
			override_reason = excluded.override_reason`,
			c.Rollout, h.Window, h.Label, string(h.State), formatTime(h.Since), h.OverrideActor, h.OverrideReason); err != nil {
			return fmt.Errorf("save calendar hold of %s: %w", c.Rollout, err)
		}
	}
	return nil
}
