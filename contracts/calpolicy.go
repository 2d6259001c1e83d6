package contracts

// OnBlocked says what happens to a rollout that a calendar window (a
// freeze, a stop, a reservation held for others, or no maintenance window)
// keeps from starting.
type OnBlocked string

const (
	// OnBlockedWait queues the rollout until the calendar admits it. The
	// default.
	OnBlockedWait OnBlocked = "wait"
	// OnBlockedReject ends the rollout at once, naming the window, so that
	// a pipeline learns now instead of waiting through a freeze.
	OnBlockedReject OnBlocked = "reject"
)

// Validate reports a policy other than wait, reject or empty.
func (p OnBlocked) Validate(field string) error {
	var fe FieldErrors
	p.validate(&fe, field)
	return fe.Err()
}

func (p OnBlocked) validate(fe *FieldErrors, field string) {
	switch p {
	case "", OnBlockedWait, OnBlockedReject:
	default:
		fe.Add(field, "must be %q or %q, got %q", OnBlockedWait, OnBlockedReject, clip(string(p)))
	}
}

// OnFreeze says how a running rollout stops when a freeze begins while it
// runs. A stop window always stops rollouts at the next batch boundary.
type OnFreeze string

const (
	// OnFreezePause stops the rollout at the next batch boundary: the
	// actions in flight finish, nothing new is dispatched. The default.
	OnFreezePause OnFreeze = "pause"
	// OnFreezeFinishPhase lets the current phase dispatch its remaining
	// batches, then stops before the next phase.
	OnFreezeFinishPhase OnFreeze = "finish_phase"
)

// Validate reports a policy other than pause, finish_phase or empty.
func (p OnFreeze) Validate(field string) error {
	var fe FieldErrors
	p.validate(&fe, field)
	return fe.Err()
}

func (p OnFreeze) validate(fe *FieldErrors, field string) {
	switch p {
	case "", OnFreezePause, OnFreezeFinishPhase:
	default:
		fe.Add(field, "must be %q or %q, got %q", OnFreezePause, OnFreezeFinishPhase, clip(string(p)))
	}
}
