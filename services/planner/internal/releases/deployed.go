package releases

import (
	"context"
	"fmt"
)

// Deployed is an application's newest completed rollout in an
// environment, with the request it came from when this planner recorded
// it (Body empty otherwise).
type Deployed struct {
	App     string `db:"app"`
	Version string `db:"version"`
	Body    string `db:"body"`
}

// Deployed returns, per application sorted by name, the newest completed
// rollout in env: what the environment was last given of each app.
func (s *Store) Deployed(ctx context.Context, env string) ([]Deployed, error) {
	var rows []Deployed
	err := s.db.SelectContext(ctx, &rows, `SELECT r.app, r.version, COALESCE(a.body, '') AS body
		FROM rollouts r LEFT JOIN accepted a ON a.rollout = r.id
		WHERE r.environment = ? AND r.state = 'completed'
		ORDER BY r.app, r.ended_at DESC, r.id DESC`, env)
	if err != nil {
		return nil, fmt.Errorf("read the applications deployed in %s: %w", env, err)
	}
	out := rows[:0]
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].App != r.App {
			out = append(out, r)
		}
	}
	return out, nil
}
