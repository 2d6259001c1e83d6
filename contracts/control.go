package contracts

// ControlCommand is the body of a request on a control subject; the verb and
// rollout come from the subject.
type ControlCommand struct {
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Step, for approve and reject, names the step or gate id the operator
	// means; the verb is refused when the rollout waits elsewhere.
	Step string `json:"step,omitempty"`
	// Fast, for rollback, rolls every changed host back in one batch,
	// without checks.
	Fast bool `json:"fast,omitempty"`
	// Steps, for reorder, is the new order of the pending steps, by id:
	// every pending step exactly once.
	Steps []string `json:"steps,omitempty"`
	// Host, for exclude, is the host removed from the rest of the rollout;
	// for retry, the one failed host to run again (every failed host when
	// empty).
	Host string `json:"host,omitempty"`
}

// Reply is the body of every request/reply answer: the data or an error.
type Reply[T any] struct {
	Data  *T     `json:"data,omitempty"`
	Error *Error `json:"error,omitempty"`
}

// RolloutQuery asks the scheduler for one rollout.
type RolloutQuery struct {
	Rollout string `json:"rollout"`
}

// RolloutListQuery asks the scheduler for rollouts, newest first.
type RolloutListQuery struct {
	Environment string `json:"environment,omitempty"`
	State       State  `json:"state,omitempty"`
	Limit       int    `json:"limit,omitempty"`
}

// RolloutList answers a RolloutListQuery.
type RolloutList struct {
	Rollouts []RolloutSummary `json:"rollouts"`
}

// RolloutSummary is a rollout without its per-host detail.
type RolloutSummary struct {
	Rollout     string `json:"rollout"`
	App         string `json:"app"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	State       State  `json:"state"`
	Reason      string `json:"reason,omitempty"`
	// QueuePosition is, for a queued rollout, its place among the queued
	// rollouts of its environment by arrival, from 1; 0 when not queued.
	QueuePosition int    `json:"queue_position,omitempty"`
	Phase         int    `json:"phase"`
	Counts        Counts `json:"counts"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
}

// RolloutView is one rollout with its phases and hosts.
type RolloutView struct {
	RolloutSummary
	RequestedBy string      `json:"requested_by,omitempty"`
	Phases      []PhaseView `json:"phases"`
	// Offer is set while guided failure holds the rollout paused: each
	// failed host with the choices (as on the paused event).
	Offer []FailedHostOffer `json:"offer,omitempty"`
	// RunOrder lists the step ids in the order they run, when an operator
	// reordered them (else the order of Phases).
	RunOrder []string `json:"run_order,omitempty"`
}

// PhaseView is a phase of a rollout view.
type PhaseView struct {
	Index int `json:"index"`
	// ID is the step id that skip and reorder name.
	ID      string     `json:"id,omitempty"`
	Name    string     `json:"name"`
	Kind    StepKind   `json:"kind,omitempty"`
	State   string     `json:"state"`
	Batches int        `json:"batches"`
	Hosts   []HostView `json:"hosts"`
}

// HostView is one host of a rollout view.
type HostView struct {
	Name    string `json:"name"`
	Batch   int    `json:"batch"`
	State   string `json:"state"`
	Attempt int    `json:"attempt,omitempty"`
	Error   string `json:"error,omitempty"`
	// Rollback is the host's rollback action's status, when it has one.
	Rollback string `json:"rollback,omitempty"`
}
