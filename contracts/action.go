package contracts

import "time"

// HostAction is one unit of work for an executor: deploy one version of an
// app to one host, then run the checks. ID is the idempotency key
// (ActionID): an executor that finds the key already claimed does not act.
type HostAction struct {
	ID              string            `json:"id"`
	Rollout         string            `json:"rollout"`
	Environment     string            `json:"environment"`
	App             string            `json:"app"`
	Version         string            `json:"version"`
	PreviousVersion string            `json:"previous_version,omitempty"`
	Phase           PhaseRef          `json:"phase"`
	Batch           int               `json:"batch"`
	Attempt         int               `json:"attempt"`
	Host            ActionHost        `json:"host"`
	Driver          DriverSpec        `json:"driver"`
	Checks          []NamedCheck      `json:"checks,omitempty"`
	Params          map[string]string `json:"params,omitempty"`
	// Kind is what the action does: "" deploys, ActionCheck only checks
	// (the driver is not run), ActionTraffic switches Traffic.
	Kind ActionKind `json:"kind,omitempty"`
	// Traffic is the switch of a traffic action.
	Traffic *PlannedTraffic `json:"traffic,omitempty"`
}

// ActionHost is the host part of an action.
type ActionHost struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Params  map[string]string `json:"params,omitempty"`
}

// NamedCheck is a check with the name the request gave it.
type NamedCheck struct {
	Name string    `json:"name"`
	Spec CheckSpec `json:"spec"`
}

// ResultStatus is the outcome of a host action or a check.
type ResultStatus string

const (
	ResultSucceeded ResultStatus = "succeeded"
	ResultFailed    ResultStatus = "failed"
	// ResultCancelled: the executor stopped the action because its rollout
	// was aborted. It is terminal and not a success; a consumer that knows
	// only succeeded and failed may treat it as failed.
	ResultCancelled ResultStatus = "cancelled"
	// ResultInconclusive is a check's status only: the check could not
	// tell (an empty query result, a verifier that cannot decide). A
	// measurement of an analysis counts it neither as a pass nor as a
	// failure; a host action's checks treat it as a failure, since the
	// host is not known to be healthy.
	ResultInconclusive ResultStatus = "inconclusive"
)

// Conclusive reports whether a check status counts as a pass or a failure
// in a measurement: every status but inconclusive does.
func (s ResultStatus) Conclusive() bool { return s != ResultInconclusive }

// HostResult reports how a host action ended.
type HostResult struct {
	ActionID    string       `json:"action_id"`
	Rollout     string       `json:"rollout"`
	Environment string       `json:"environment"`
	App         string       `json:"app"`
	Version     string       `json:"version"`
	Phase       PhaseRef     `json:"phase"`
	Batch       int          `json:"batch"`
	Host        string       `json:"host"`
	Attempt     int          `json:"attempt"`
	Status      ResultStatus `json:"status"`
	Error       string       `json:"error,omitempty"`
	ExitCode    *int         `json:"exit_code,omitempty"`
	// Output is the tail of the driver's combined output.
	Output string        `json:"output,omitempty"`
	Checks []CheckResult `json:"checks,omitempty"`
	// Installed says the driver's install step succeeded: the host runs
	// Version even when a check then failed.
	Installed  bool      `json:"installed,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Executor   string    `json:"executor"`
	// Deliveries is how many times the action was delivered before this
	// result; more than 1 means an executor died or stalled on it.
	Deliveries int `json:"deliveries,omitempty"`
	// Kind is the action's kind: a check result installed nothing.
	Kind ActionKind `json:"kind,omitempty"`
}

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name     string       `json:"name"`
	Status   ResultStatus `json:"status"`
	Attempts int          `json:"attempts"`
	Error    string       `json:"error,omitempty"`
	Duration Duration     `json:"duration"`
}
