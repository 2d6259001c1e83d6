package contracts

import "time"

// EventType is the last token of an event subject and names what happened.
type EventType string

// Rollout events, in the order a successful rollout emits them: planned,
// [queued], started, then per phase phase_started, per batch batch_started
// and one host_succeeded or host_failed per host, then phase_completed, and
// finally completed. paused, resumed, aborted and failed may come between.
const (
	EventPlanned        EventType = "planned"
	EventRejected       EventType = "rejected"
	EventQueued         EventType = "queued"
	EventStarted        EventType = "started"
	EventPhaseStarted   EventType = "phase_started"
	EventBatchStarted   EventType = "batch_started"
	EventHostSucceeded  EventType = "host_succeeded"
	EventHostFailed     EventType = "host_failed"
	EventPhaseCompleted EventType = "phase_completed"
	EventPaused         EventType = "paused"
	EventResumed        EventType = "resumed"
	EventAborted        EventType = "aborted"
	EventCompleted      EventType = "completed"
	EventFailed         EventType = "failed"
	// EventRetried: an operator ran the failed hosts (Hosts) again, each as
	// a new attempt; the rollout runs again.
	EventRetried EventType = "retried"
	// Gates: the rollout waits at Gate; an operator (Actor, Reason) or the
	// gate's timeout approved or rejected it.
	EventGateWaiting  EventType = "gate_waiting"
	EventGateApproved EventType = "gate_approved"
	EventGateRejected EventType = "gate_rejected"
	// Rollback: the rollout started redeploying each changed host's
	// previous version (Reason, Actor), and ended with every one of them
	// back (rolled_back). Per-host outcomes are host_* events of the step
	// RollbackStepID.
	EventRollbackStarted EventType = "rollback_started"
	EventRolledBack      EventType = "rolled_back"
	// Runtime control: an operator (Actor, Reason) skipped Step, gave the
	// pending steps a new order (Steps), or excluded a host (Hosts).
	EventSkipped   EventType = "skipped"
	EventReordered EventType = "reordered"
	EventExcluded  EventType = "excluded"
	// EventLateResult records the result of an attempt that is no longer
	// in flight (a retry superseded it, or its host timed out): it is kept
	// in the rollout's history (Host) and changes nothing.
	EventLateResult EventType = "late_result"
)

// EventTypes lists every event type.
var EventTypes = []EventType{
	EventPlanned, EventRejected, EventQueued, EventStarted, EventPhaseStarted, EventBatchStarted,
	EventHostSucceeded, EventHostFailed, EventPhaseCompleted, EventPaused, EventResumed,
	EventAborted, EventCompleted, EventFailed, EventRetried, EventGateWaiting, EventGateApproved, EventGateRejected,
	EventRollbackStarted, EventRolledBack, EventSkipped, EventReordered, EventExcluded, EventLateResult,
}

// State is a rollout's state.
type State string

const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StatePaused    State = "paused"
	StateCompleted State = "completed"
	StateFailed    State = "failed"
	StateAborted   State = "aborted"
	// StateRolledBack: every host the rollout changed runs its previous
	// version again.
	StateRolledBack State = "rolled_back"
	// StatePlanned is the state of a planned rollout the scheduler has not
	// taken up yet.
	StatePlanned State = "planned"
	// StateRejected is the planner's verdict; the scheduler never holds it.
	StateRejected State = "rejected"
)

// Terminal reports whether no further transition can happen.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateFailed || s == StateAborted || s == StateRejected || s == StateRolledBack
}

// Event is the data of every rollout event. Fields beyond the rollout
// reference are set according to the type, as documented on each.
type Event struct {
	Rollout     string `json:"rollout"`
	Environment string `json:"environment"`
	App         string `json:"app"`
	Version     string `json:"version"`
	// Seq numbers a rollout's scheduler events from 1; planner events have 0.
	Seq int64 `json:"seq,omitempty"`
	// State is the rollout's state after the event.
	State State `json:"state"`
	// Phase is set on phase_*, batch_started and host_* events.
	Phase *PhaseRef `json:"phase,omitempty"`
	// Gate is the id of the gate of a gate_* event.
	Gate string `json:"gate,omitempty"`
	// Batch is the batch number within the phase, from 1, on batch_started
	// and host_* events.
	Batch int `json:"batch,omitempty"`
	// Hosts lists the hosts of a batch (batch_started) or phase (phase_*),
	// at most MaxEventHosts of them: HostsTotal then says how many there
	// are (the rollout's view from get has them all).
	Hosts      []string `json:"hosts,omitempty"`
	HostsTotal int      `json:"hosts_total,omitempty"`
	// Host is the outcome of one host action (host_* events).
	Host *HostOutcome `json:"host,omitempty"`
	// Plan is set on planned, unless the plan is too large to travel
	// inline: then PlanRef points at it in the plans object store.
	Plan    *Plan    `json:"plan,omitempty"`
	PlanRef *PlanRef `json:"plan_ref,omitempty"`
	// Reasons lists every problem found in a rejected request.
	Reasons []FieldError `json:"reasons,omitempty"`
	// Reason says why a transition happened (queued, paused, failed, aborted).
	Reason string `json:"reason,omitempty"`
	// Actor is who caused the transition: an operator for control verbs,
	// else the service.
	Actor string `json:"actor,omitempty"`
	// Until is when a queued rollout will be looked at again, if known.
	Until *time.Time `json:"until,omitempty"`
	// Counts summarises host outcomes so far.
	Counts *Counts `json:"counts,omitempty"`
	// Step is the step a skipped event skipped; Steps the new order of the
	// pending steps of a reordered event.
	Step  string   `json:"step,omitempty"`
	Steps []string `json:"steps,omitempty"`
	// Offer, on the paused event of guided failure, lists each failed host
	// with the choices an operator has.
	Offer []FailedHostOffer `json:"offer,omitempty"`
}

// FailedHostOffer is one failed host of a rollout paused by guided failure
// and what an operator can do about it.
type FailedHostOffer struct {
	Host    string         `json:"host"`
	Error   string         `json:"error,omitempty"`
	Choices []GuidedChoice `json:"choices"`
}

// GuidedChoice is one way out of a guided-failure pause: the verb and the
// CLI command that sends it.
type GuidedChoice struct {
	Verb    Verb   `json:"verb"`
	Command string `json:"command"`
}

// PhaseRef names a phase by position and name, and by its stable step id.
// Index is informational (where the step stood when it ran); the step id
// is what identifies it.
type PhaseRef struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
}

// HostOutcome is the part of a host result that events carry.
type HostOutcome struct {
	Name     string        `json:"name"`
	Attempt  int           `json:"attempt"`
	Status   ResultStatus  `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration Duration      `json:"duration"`
	Checks   []CheckResult `json:"checks,omitempty"`
	Executor string        `json:"executor,omitempty"`
}

// Counts summarises the hosts of a rollout.
type Counts struct {
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Running   int `json:"running"`
	Pending   int `json:"pending"`
	// Skipped counts the hosts of steps an operator skipped, Excluded the
	// hosts an operator excluded; neither is ever dispatched again.
	Skipped  int `json:"skipped,omitempty"`
	Excluded int `json:"excluded,omitempty"`
}
