package discovery

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/discovery/internal/versions"
)

const (
	defaultHistoryLimit = 100
	maxHistoryLimit     = 1000
)

func recordHistory(ctx context.Context, tx *sqlx.Tx, u versions.Update) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO version_history (environment, host, app, version, rollout, at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Environment, u.Host, u.App, u.Version, u.Rollout, u.UpdatedAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("record history of %s on %s/%s: %w", u.App, u.Environment, u.Host, err)
	}
	return nil
}

// History returns the versions rollouts set, newest first.
func (s *Service) History(ctx context.Context, q contracts.HistoryQuery) (contracts.History, error) {
	var fe contracts.FieldErrors
	if q.Environment != "" && !contracts.ValidToken(q.Environment) {
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', got %q", q.Environment)
	}
	switch {
	case q.Limit < 0 || q.Limit > maxHistoryLimit:
		fe.Add("limit", "must be between 1 and %d, got %d", maxHistoryLimit, q.Limit)
	case q.Limit == 0:
		q.Limit = defaultHistoryLimit
	}
	if err := fe.Err(); err != nil {
		return contracts.History{}, err
	}
	sq := `SELECT environment, host, app, version, rollout, at FROM version_history WHERE 1 = 1`
	var args []any
	for _, f := range []struct{ col, v string }{{"environment", q.Environment}, {"host", q.Host}, {"app", q.App}} {
		if f.v != "" {
			sq += ` AND ` + f.col + ` = ?`
			args = append(args, f.v)
		}
	}
	sq += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, q.Limit)
	var rows []struct {
		Environment string `db:"environment"`
		Host        string `db:"host"`
		App         string `db:"app"`
		Version     string `db:"version"`
		Rollout     string `db:"rollout"`
		At          string `db:"at"`
	}
	if err := s.store.db.SelectContext(ctx, &rows, sq, args...); err != nil {
		return contracts.History{}, fmt.Errorf("read history: %w", err)
	}
	out := contracts.History{Entries: make([]contracts.HistoryEntry, 0, len(rows))}
	for _, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, r.At)
		if err != nil {
			return contracts.History{}, fmt.Errorf("read history: bad time %q: %w", r.At, err)
		}
		out.Entries = append(out.Entries, contracts.HistoryEntry{Environment: r.Environment, Host: r.Host, App: r.App,
			Version: r.Version, Rollout: r.Rollout, At: at})
	}
	return out, nil
}

// joinReported adds what the agents report to the recorded versions: a
// reported version that differs from the one the last rollout set is
// drift; one no rollout set is shown as reported only. A host whose agent
// reports nothing for an app shows no drift for it.
func joinReported(env *contracts.Environment, reported map[string]map[string]string, app string) {
	for i := range env.Hosts {
		h := &env.Hosts[i]
		for a, v := range reported[h.Name] {
			if app != "" && a != app {
				continue
			}
			hv, ok := h.Versions[a]
			hv.Reported = v
			hv.Drift = ok && hv.Version != v
			if h.Versions == nil {
				h.Versions = map[string]contracts.HostVersion{}
			}
			h.Versions[a] = hv
		}
	}
}

// reportedVersions returns, by host, what the agents of env report.
func (s *Service) reportedVersions(env string) map[string]map[string]string {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	out := map[string]map[string]string{}
	for _, ag := range s.ref.agents {
		if ag.ann.Environment == env && len(ag.ann.Versions) > 0 {
			out[ag.ann.Host] = ag.ann.Versions
		}
	}
	return out
}
