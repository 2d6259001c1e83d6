package store

import (
	"context"
	"fmt"
	"time"
)

// Deployed is the last completed rollout of an application to an
// environment.
type Deployed struct {
	App         string `db:"app"`
	Environment string `db:"environment"`
	Version     string `db:"version"`
	At          time.Time
}

// LastDeployed returns, per application and environment, the version and
// end time of the last completed rollout.
func (s *Store) LastDeployed(ctx context.Context) ([]Deployed, error) {
	var rows []struct {
		Deployed
		UpdatedAt string `db:"updated_at"`
		Order     int64  `db:"queue_order"`
	}
	// The rollouts of an environment run one at a time in arrival order,
	// so the last to arrive is the last to have completed. SQLite takes
	// the bare columns from the row that holds max(). (Stored times are not
	// fixed-width, so they do not sort as text.)
	if err := s.db.SelectContext(ctx, &rows, `SELECT app, environment, version, updated_at, max(queue_order) AS queue_order
		FROM rollouts WHERE state = 'completed' GROUP BY app, environment ORDER BY app, environment`); err != nil {
		return nil, fmt.Errorf("last completed rollouts: %w", err)
	}
	out := make([]Deployed, 0, len(rows))
	for _, r := range rows {
		at, err := parseTime(r.UpdatedAt)
		if err != nil {
			return nil, fmt.Errorf("last completed rollout of %s to %s: %w", r.App, r.Environment, err)
		}
		r.Deployed.At = at
		out = append(out, r.Deployed)
	}
	return out, nil
}
