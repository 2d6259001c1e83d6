package contracts

import "time"

// The planner keeps a record of every rollout it planned, learned from the
// EVENTS stream: who asked, what it deployed and how it ended. It answers
// history queries from it and checks lifecycles against it.

// API operations of the planner's rollout record.
var (
	APIPlannerHistory = APISubject("planner", "history")
	APIPlannerPromote = APISubject("planner", "promote")
)

// History query limits.
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 1000
)

// RolloutHistoryQuery asks for past rollouts, newest first; empty fields
// match every rollout. Limit is DefaultHistoryLimit when 0.
type RolloutHistoryQuery struct {
	App         string `json:"app,omitempty"`
	Environment string `json:"environment,omitempty"`
	Limit       int    `json:"limit,omitempty"`
}

// Validate checks the query; errors name the field.
func (q RolloutHistoryQuery) Validate() error {
	var fe FieldErrors
	if q.App != "" && !appName.MatchString(q.App) {
		fe.Add("app", "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(q.App))
	}
	if q.Environment != "" {
		token(&fe, "environment", q.Environment)
	}
	if q.Limit < 0 || q.Limit > MaxHistoryLimit {
		fe.Add("limit", "must be between 1 and %d, got %d", MaxHistoryLimit, q.Limit)
	}
	return fe.Err()
}

// RolloutHistory answers a history query.
type RolloutHistory struct {
	Rollouts []RolloutRecord `json:"rollouts"`
}

// RolloutRecord is one past or current rollout.
type RolloutRecord struct {
	Rollout     string   `json:"rollout"`
	App         string   `json:"app"`
	Version     string   `json:"version"`
	Environment string   `json:"environment"`
	Strategy    Strategy `json:"strategy,omitempty"`
	RequestedBy string   `json:"requested_by,omitempty"`
	// Reason is the request's reason.
	Reason string `json:"reason,omitempty"`
	// LifecycleOverride is the reason the lifecycle was skipped, if it was.
	LifecycleOverride string `json:"lifecycle_override,omitempty"`
	// State is planned, running, completed, failed or aborted.
	State State `json:"state"`
	// EndReason says why a failed or aborted rollout ended.
	EndReason string     `json:"end_reason,omitempty"`
	Hosts     int        `json:"hosts"`
	Batches   int        `json:"batches"`
	PlannedAt time.Time  `json:"planned_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}
