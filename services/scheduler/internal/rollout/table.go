package rollout

import (
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// Transition is one row of the state machine: an input of kind Input is
// allowed in the From states and leaves the rollout in one of the To
// states.
type Transition struct {
	Input Kind
	From  []contracts.State
	To    []contracts.State
}

var (
	queued    = contracts.StateQueued
	running   = contracts.StateRunning
	paused    = contracts.StatePaused
	completed = contracts.StateCompleted
	failed    = contracts.StateFailed
	aborted   = contracts.StateAborted
)

// States lists every state a rollout can be in, StateNew included.
var States = []contracts.State{StateNew, queued, running, paused, completed, failed, aborted}

// Table is the whole state machine. An input not listed for the current
// state is refused with an invalid_state error.
var Table = []Transition{
	// A planned event creates the rollout; it waits for admission.
	{Input: KindPlanned, From: []contracts.State{StateNew}, To: []contracts.State{queued}},
	// Admission starts a queued rollout, or records why it still waits.
	// A plan without hosts completes at once.
	{Input: KindAdmission, From: []contracts.State{queued}, To: []contracts.State{queued, running, completed}},
	// Results of actions in flight are recorded in every state after
	// start, also once the rollout was paused or has ended.
	{Input: KindResult, From: []contracts.State{running, paused, completed, failed, aborted},
		To: []contracts.State{running, paused, completed, failed, aborted}},
	{Input: KindPause, From: []contracts.State{queued, running}, To: []contracts.State{paused}},
	// Resume runs again, goes back to the queue if the rollout had never
	// started, or completes when the last batch was already done.
	{Input: KindResume, From: []contracts.State{paused}, To: []contracts.State{running, queued, completed}},
	{Input: KindAbort, From: []contracts.State{queued, running, paused}, To: []contracts.State{aborted}},
	// The deadline of the batch in flight fails the hosts without a
	// result; like their results, that may cross the failure threshold,
	// start the next batch or complete the rollout. A paused rollout
	// records the failures and dispatches nothing.
	// Retry runs the failed hosts of a paused rollout again as new
	// attempts; with none failed it is refused (invalid_state).
	{Input: KindRetry, From: []contracts.State{paused}, To: []contracts.State{running}},
	// Approve and reject decide the gate a running rollout waits at (with
	// none, they are refused with invalid_state). Approving the gate after
	// the last step completes the rollout.
	{Input: KindApprove, From: []contracts.State{running}, To: []contracts.State{running, completed}},
	{Input: KindReject, From: []contracts.State{running}, To: []contracts.State{failed}},
	{Input: KindTimer, From: []contracts.State{running, paused}, To: []contracts.State{running, paused, completed, failed}},
}

// lookup returns the row for an input kind if it is allowed in state.
func lookup(k Kind, state contracts.State) (Transition, bool) {
	for _, t := range Table {
		if t.Input == k && slices.Contains(t.From, state) {
			return t, true
		}
	}
	return Transition{}, false
}

// Allowed reports whether the table allows an input kind in a state.
func Allowed(k Kind, state contracts.State) bool {
	_, ok := lookup(k, state)
	return ok
}
