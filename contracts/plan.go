package contracts

import (
	"strconv"
	"time"
)

// Plan is the planner's layout of a rollout: resolved hosts, phases and
// batches, ready for the scheduler to run without further lookups.
type Plan struct {
	Rollout     string         `json:"rollout"`
	App         string         `json:"app"`
	Version     string         `json:"version"`
	Environment string         `json:"environment"`
	Strategy    Strategy       `json:"strategy"`
	Phases      []PlannedPhase `json:"phases"`
	// Hosts holds every host of the plan, by name.
	Hosts map[string]PlannedHost `json:"hosts"`
	// MaxFailed is the failure threshold resolved to a count of hosts.
	MaxFailed   int                  `json:"max_failed"`
	OnFailure   OnFailure            `json:"on_failure"`
	Checks      map[string]CheckSpec `json:"checks,omitempty"`
	Params      map[string]string    `json:"params,omitempty"`
	StartAt     *time.Time           `json:"start_at,omitempty"`
	RequestedBy string               `json:"requested_by,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	// Team and Labels come from the request, for calendar reservations.
	Team   string            `json:"team,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// OnBlocked is the request's policy, or the environment's when the
	// request has none: reject ends a rollout the calendar blocks.
	OnBlocked OnBlocked `json:"on_blocked,omitempty"`
	// OnFreeze, resolved the same way, is how the rollout stops when a
	// freeze begins while it runs.
	OnFreeze OnFreeze `json:"on_freeze,omitempty"`
	// ActionTimeout, when set, is how long the scheduler waits for a host
	// action's result after dispatching it; a host without a result by
	// then counts as failed. Zero waits forever.
	ActionTimeout Duration `json:"action_timeout,omitempty"`
	// LifecycleOverride is set when the request skipped the lifecycle.
	LifecycleOverride *LifecycleOverride `json:"lifecycle_override,omitempty"`
}

// TotalHosts counts the hosts in all phases.
func (p Plan) TotalHosts() int {
	n := 0
	for _, ph := range p.Phases {
		for _, b := range ph.Batches {
			n += len(b)
		}
	}
	return n
}

// PlannedPhase is a phase with its hosts laid out in batches, in order.
type PlannedPhase struct {
	// ID is the step's stable id, unique within the plan and independent
	// of its position: action ids, span ids and stored rows key on it, so
	// reordering or skipping steps cannot make two steps share them. The
	// planner derives it from the phase name; a plan from an older planner
	// without ids gets the same derivation in the scheduler.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Kind is what the step does; "" (from older planners too) is a phase.
	// Only a phase has batches and checks.
	Kind    StepKind   `json:"kind,omitempty"`
	Batches [][]string `json:"batches"`
	Checks  []string   `json:"checks,omitempty"`
	// Gate, on a phase, holds the rollout for a manual approval around
	// it; on a gate step it is that gate's timeout and outcome.
	Gate *PlannedGate `json:"gate,omitempty"`
	// Wait is how long a wait step holds the rollout (bake or soak time).
	Wait Duration `json:"wait,omitempty"`
	// Analysis is an analysis step's measurements.
	Analysis *AnalysisSpec `json:"analysis,omitempty"`
	// Traffic is a traffic step's switch.
	Traffic *PlannedTraffic `json:"traffic,omitempty"`
	// MaxFailed, on a phase, is its own failure budget resolved to a count
	// of hosts; nil when it has none (only the rollout's budget applies).
	MaxFailed *int `json:"max_failed,omitempty"`
}

// PlannedGate places manual gates around a phase step: before it starts,
// after it completes, and/or after each of its batches. Each gate has the
// id <step id>/before, <step id>/batch-<n> or <step id>/after. A request's
// phases[i].gate has the same shape: with none of before, after and
// every_batch set it is a gate step of its own, whose gate id is the step
// id.
type PlannedGate struct {
	Before     bool `json:"before,omitempty"`
	After      bool `json:"after,omitempty"`
	EveryBatch bool `json:"every_batch,omitempty"`
	// Timeout, when set, decides a gate nobody approved or rejected in
	// time with OnTimeout (approve, reject or rollback; reject when
	// empty).
	Timeout   Duration    `json:"timeout,omitempty"`
	OnTimeout GateOutcome `json:"on_timeout,omitempty"`
}

// GateOutcome is how a gate is decided.
type GateOutcome string

const (
	GateApprove GateOutcome = "approve"
	GateReject  GateOutcome = "reject"
	// GateRollback, as a gate's on_timeout, rolls the rollout back.
	GateRollback GateOutcome = "rollback"
)

// PlannedHost is a host resolved for one rollout.
type PlannedHost struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Params  map[string]string `json:"params,omitempty"`
	Pool    string            `json:"pool"`
	Driver  DriverSpec        `json:"driver"`
	// PreviousVersion is the version of the app the host ran when planned.
	PreviousVersion string `json:"previous_version,omitempty"`
}

// PreviewReply answers a plan preview: the plan, or the reasons it would be
// rejected.
type PreviewReply struct {
	Plan    *Plan        `json:"plan,omitempty"`
	Reasons []FieldError `json:"reasons,omitempty"`
	// Calendar and Estimate come with a plan (preview.go).
	Calendar []PreviewCalendar `json:"calendar,omitempty"`
	Estimate *Estimate         `json:"estimate,omitempty"`
}

// StepID returns the id of a step named name: the name itself, which the
// request's validation already restricts to a subject token unique within
// the request.
func StepID(name string) string { return name }

// StepActionID is the id and idempotency key of one host action of a step:
// <rollout>/<step id>/<host>/attempt-<n>. It never depends on where the
// step stands in the plan.
func StepActionID(rollout, step, host string, attempt int) string {
	return rollout + "/" + step + "/" + host + "/attempt-" + strconv.Itoa(attempt)
}
