package scheduler

import (
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// ActorCalendar is the actor of the transitions the calendar causes:
// rejections under on_blocked: reject, and pauses and resumes for freezes
// and stops that begin or end while a rollout runs.
const ActorCalendar = "calendar"

// rejectBlocked is the input that ends a queued rollout the calendar
// blocks when its plan says on_blocked: reject: rejected by the calendar,
// with the window named, never started.
func rejectBlocked(v admission.Verdict) rollout.Input {
	return rollout.Input{Admission: &rollout.Admission{Reject: true, Actor: ActorCalendar,
		Reason: "rejected (on_blocked: reject): " + v.Reason}}
}
