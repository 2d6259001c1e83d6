package rollout

import (
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Input is one thing that happens to a rollout. Exactly one field is set.
type Input struct {
	Planned   *Planned
	Admission *Admission
	Result    *contracts.HostResult
	Command   *Command
	Timer     *Timer
}

// Timer is the clock reaching a timer of the rollout: the deadline of the
// actions in flight or of a gate, or the end of a wait step. The service
// loop sends it when now is at or after Rollout.NextTimer; Step checks
// again against now, so a timer that is early or stale changes nothing.
type Timer struct{}

// Planned creates the rollout from the planner's plan.
type Planned struct {
	Plan contracts.Plan
	// Order is the arrival order of the planned event.
	Order uint64
}

// Admission is the verdict on a queued rollout: it starts, or it waits for
// Reason until (if known) Until.
type Admission struct {
	Allowed bool
	Until   *time.Time
	Reason  string
	// Reject, with Allowed false, ends the rollout rejected instead of
	// letting it wait (the plan's on_blocked: reject), by Actor.
	Reject bool
	Actor  string
}

// Command is an operator's verb.
type Command struct {
	Verb   contracts.Verb
	Actor  string
	Reason string
	// Step, for approve and reject, is the step or gate id meant.
	Step string
	// Fast, for rollback: one batch, no checks.
	Fast bool
	// Steps, for reorder, is the new order of the pending steps.
	Steps []string
	// Host, for exclude, is the host removed from the rest of the rollout.
	Host string
}

// Kind names an input in the transition table. Commands have one kind per
// verb because each verb is allowed in different states.
type Kind string

const (
	KindPlanned   Kind = "planned"
	KindAdmission Kind = "admission"
	KindResult    Kind = "result"
	KindPause     Kind = "pause"
	KindResume    Kind = "resume"
	KindAbort     Kind = "abort"
	KindTimer     Kind = "timer"
	KindRetry     Kind = "retry"
	KindApprove   Kind = "approve"
	KindReject    Kind = "reject"
	KindRollback  Kind = "rollback"
	KindSkip      Kind = "skip"
	KindReorder   Kind = "reorder"
	KindExclude   Kind = "exclude"
)

// Kinds lists every input kind.
var Kinds = []Kind{KindPlanned, KindAdmission, KindResult, KindPause, KindResume, KindAbort, KindTimer, KindRetry, KindApprove, KindReject, KindRollback, KindSkip, KindReorder, KindExclude}

// Kind returns the kind of the input, or an error when not exactly one
// variant is set or the verb is unknown.
func (in Input) Kind() (Kind, error) {
	var kinds []Kind
	if in.Planned != nil {
		kinds = append(kinds, KindPlanned)
	}
	if in.Admission != nil {
		kinds = append(kinds, KindAdmission)
	}
	if in.Result != nil {
		kinds = append(kinds, KindResult)
	}
	if in.Timer != nil {
		kinds = append(kinds, KindTimer)
	}
	if in.Command != nil {
		switch in.Command.Verb {
		case contracts.VerbPause:
			kinds = append(kinds, KindPause)
		case contracts.VerbResume:
			kinds = append(kinds, KindResume)
		case contracts.VerbAbort:
			kinds = append(kinds, KindAbort)
		case contracts.VerbRetry:
			kinds = append(kinds, KindRetry)
		case contracts.VerbApprove:
			kinds = append(kinds, KindApprove)
		case contracts.VerbReject:
			kinds = append(kinds, KindReject)
		case contracts.VerbRollback:
			kinds = append(kinds, KindRollback)
		case contracts.VerbSkip:
			kinds = append(kinds, KindSkip)
		case contracts.VerbReorder:
			kinds = append(kinds, KindReorder)
		case contracts.VerbExclude:
			kinds = append(kinds, KindExclude)
		default:
			return "", contracts.Invalid("verb", "must be one of pause, resume, abort, retry, approve, reject, rollback, skip, reorder, exclude, got %q", in.Command.Verb)
		}
	}
	if len(kinds) != 1 {
		return "", contracts.Invalid("", "an input must have exactly one of planned, admission, result, command, timer set, got %d", len(kinds))
	}
	return kinds[0], nil
}

// Effect is something the service loop must do after it has committed a
// step: publish an event, dispatch a host action, or close a phase's span.
type Effect interface{ isEffect() }

// Emit publishes a rollout event.
type Emit struct {
	Type  contracts.EventType
	Event contracts.Event
}

// Dispatch queues a host action on the pool's subject.
type Dispatch struct {
	Pool   string
	Action contracts.HostAction
}

// PhaseEnded reports that a phase ended (completed or stopped with the
// rollout), so its span can be recorded.
type PhaseEnded struct {
	Phase     contracts.PhaseRef
	State     PhaseState
	StartedAt time.Time
	EndedAt   time.Time
}

func (Emit) isEffect()       {}
func (Dispatch) isEffect()   {}
func (PhaseEnded) isEffect() {}
