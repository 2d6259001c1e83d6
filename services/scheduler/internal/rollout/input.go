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

// verbKinds maps each verb the state machine takes to its input kind
// (override is the calendar's, handled before the state machine).
var verbKinds = map[contracts.Verb]Kind{
	contracts.VerbPause: KindPause, contracts.VerbResume: KindResume, contracts.VerbAbort: KindAbort,
	contracts.VerbRetry: KindRetry, contracts.VerbApprove: KindApprove, contracts.VerbReject: KindReject,
	contracts.VerbRollback: KindRollback, contracts.VerbSkip: KindSkip, contracts.VerbReorder: KindReorder,
	contracts.VerbExclude: KindExclude,
}

// Kind returns the kind of the input, or an error when not exactly one
// variant is set or the verb is unknown.
func (in Input) Kind() (Kind, error) {
	var kind Kind
	set := 0
	for _, v := range []struct {
		ok bool
		k  Kind
	}{{in.Planned != nil, KindPlanned}, {in.Admission != nil, KindAdmission}, {in.Result != nil, KindResult}, {in.Timer != nil, KindTimer}} {
		if v.ok {
			kind, set = v.k, set+1
		}
	}
	if in.Command != nil {
		k, ok := verbKinds[in.Command.Verb]
		if !ok {
			return "", contracts.Invalid("verb", "must be one of pause, resume, abort, retry, approve, reject, rollback, skip, reorder, exclude, got %q", in.Command.Verb)
		}
		kind, set = k, set+1
	}
	if set != 1 {
		return "", contracts.Invalid("", "an input must have exactly one of planned, admission, result, command, timer set, got %d", set)
	}
	return kind, nil
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
