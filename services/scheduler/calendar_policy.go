package scheduler

import (
	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// ActorCalendar is the actor of the transitions the calendar causes:
// rejections under on_blocked: reject, and pauses and resumes for freezes
// and stops that begin or end while a rollout runs.
const ActorCalendar = "calendar"

// rejectBlocked is the input that ends a queued rollout the calendar
// blocks when its plan says on_blocked: reject. The state machine ends a
// queued rollout only by abort, so the rejection is an abort by the
// calendar whose reason names the window.
func rejectBlocked(v admission.Verdict) rollout.Input {
	return rollout.Input{Command: &rollout.Command{Verb: contracts.VerbAbort, Actor: ActorCalendar,
		Reason: "rejected (on_blocked: reject): " + v.Reason}}
}
