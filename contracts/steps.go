package contracts

import "strconv"

// StepKind names what a plan step does. A step is exactly one kind.
type StepKind string

const (
	// StepPhase deploys its hosts in batches. Plans and requests leave it
	// empty; the constant names it in messages.
	StepPhase StepKind = ""
	// StepGate holds the rollout until an operator approves or rejects it,
	// or its timeout decides.
	StepGate StepKind = "gate"
	// StepWait holds the rollout for a while (bake or soak time), on a
	// timer stored by the scheduler.
	StepWait StepKind = "wait"
	// StepAnalysis measures the hosts of the phase before it with named
	// checks, repeatedly, and fails when too many measurements fail.
	StepAnalysis StepKind = "analysis"
	// StepTraffic switches traffic once (blue-green), by an action the
	// executor runs.
	StepTraffic StepKind = "traffic"
)

// AnalysisSpec is an analysis step: every Interval it runs Checks against
// each host of the preceding phase (one measurement per host), Count
// times, or for Duration when Count is 0 (at least once). More than
// FailureLimit failed measurements fail the step, and the rollout's
// on_failure applies.
type AnalysisSpec struct {
	Checks       []string `json:"checks"`
	Interval     Duration `json:"interval,omitempty"`
	Count        int      `json:"count,omitempty"`
	FailureLimit int      `json:"failure_limit,omitempty"`
	Duration     Duration `json:"duration,omitempty"`
}

// Rounds is how many measurements of each host the analysis takes.
func (a AnalysisSpec) Rounds() int {
	if a.Count > 0 {
		return a.Count
	}
	if a.Interval > 0 && a.Duration > 0 {
		return max(int(a.Duration/a.Interval), 1)
	}
	return 1
}

// ActionKind says what a host action does.
type ActionKind string

const (
	// ActionDeploy ("" on the wire) runs the driver, then the checks.
	ActionDeploy ActionKind = ""
	// ActionCheck runs only the checks: one measurement of an analysis.
	ActionCheck ActionKind = "check"
	// ActionTraffic switches traffic (Traffic) and touches no host.
	ActionTraffic ActionKind = "traffic"
)

// MeasureActionID is the id of measurement n (from 1) of an analysis step
// on a host: <rollout>/<step>/<host>/measure-<n>.
func MeasureActionID(rollout, step, host string, n int) string {
	return rollout + "/" + step + "/" + host + "/measure-" + strconv.Itoa(n)
}

// String names the kind as messages show it.
func (k StepKind) String() string {
	if k == StepPhase {
		return "phase"
	}
	return string(k)
}

// RollbackStepID is the step id of rollback actions, reserved: no request
// step may be named so. Rollback actions are
// <rollout>/rollback/<host>/attempt-<n>, so they never share an id with the
// forward attempts of any step.
const RollbackStepID = "rollback"

// RollbackActionID is the id of the rollback action of a host.
func RollbackActionID(rollout, host string) string {
	return StepActionID(rollout, RollbackStepID, host, 1)
}
