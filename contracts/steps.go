package contracts

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
)

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
