package contracts

import "time"

// What a plan preview adds to the plan: whether the calendar lets the
// rollout start, and how long it may take. Both are advice: the scheduler
// asks the calendar again when the rollout is due, and the estimate comes
// from past rollouts of the same application in the environment.

// PreviewCalendar is the calendar's answer for one instant.
type PreviewCalendar struct {
	// When is "now" or "start_at".
	When    string    `json:"when"`
	At      time.Time `json:"at"`
	Allowed bool      `json:"allowed"`
	// Until is when the answer changes, when the calendar knows.
	Until *time.Time `json:"until,omitempty"`
	// Window is the window that blocks, if one does.
	Window *Window `json:"window,omitempty"`
	Reason string  `json:"reason,omitempty"`
	// Unavailable says why there is no answer (the calendar did not
	// answer); Allowed is then false and means "unknown".
	Unavailable string `json:"unavailable,omitempty"`
}

// Estimate is how long the rollout may take: the mean time per batch of
// the last Samples completed rollouts of the app in the environment
// (started to completed, gates and checks included) times the plan's
// Batches. Samples 0 means there is no history to go by.
type Estimate struct {
	Samples  int      `json:"samples"`
	Batches  int      `json:"batches"`
	PerBatch Duration `json:"per_batch,omitempty"`
	Duration Duration `json:"duration,omitempty"`
}
