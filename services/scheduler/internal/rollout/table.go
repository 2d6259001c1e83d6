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
	// rolledBack: every changed host runs its previous version again.
	rolledBack = contracts.StateRolledBack
	// rejected: refused at admission (on_blocked: reject); never started.
	rejected = contracts.StateRejected
)

// States lists every state a rollout can be in, StateNew included.
var States = []contracts.State{StateNew, queued, running, paused, completed, failed, aborted, rolledBack, rejected}

// Table is the whole state machine. An input not listed for the current
// state is refused with an invalid_state error.
var Table = []Transition{
	// A planned event creates the rollout; it waits for admission.
	{Input: KindPlanned, From: []contracts.State{StateNew}, To: []contracts.State{queued}},
	// Admission starts a queued rollout, or records why it still waits.
	// A plan without hosts completes at once. A verdict that rejects
	// (on_blocked: reject) ends it rejected, never started.
	{Input: KindAdmission, From: []contracts.State{queued}, To: []contracts.State{queued, running, completed, rejected}},
	// Results of actions in flight are recorded in every state after
	// start, also once the rollout was paused or has ended.
	// Results of the rollback's actions end it rolled_back, or failed when
	// a host could not be rolled back.
	{Input: KindResult, From: []contracts.State{running, paused, completed, failed, aborted, rolledBack},
		To: []contracts.State{running, paused, completed, failed, aborted, rolledBack}},
	{Input: KindPause, From: []contracts.State{queued, running}, To: []contracts.State{paused}},
	// Resume runs again, goes back to the queue if the rollout had never
	// started, or completes when the last batch was already done.
	// A rollback paused with nothing left to do ends at resume.
	{Input: KindResume, From: []contracts.State{paused}, To: []contracts.State{running, queued, completed, failed, rolledBack}},
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
	// Timers also end wait steps, and a gate that times out with
	// on_timeout rollback starts the rollback.
	{Input: KindTimer, From: []contracts.State{running, paused}, To: []contracts.State{running, paused, completed, failed, rolledBack}},
	// Rollback of a started rollout redeploys the previous version of
	// every host it changed; with none changed it is rolled back at once.
	// Refused while it already rolls back. A completed rollout can be
	// rolled back too (undo): it holds its environment again, which the
	// service allows only while no other rollout is active there.
	{Input: KindRollback, From: []contracts.State{running, paused, completed}, To: []contracts.State{running, failed, rolledBack}},
	// Skip, reorder and exclude change what is left of a rollout that has
	// not ended (runtime control, control.go). Skipping the gate or wait
	// the rollout is at, or excluding the last host in flight, moves it on,
	// which may complete it. Excluding the last failed host of a guided
	// pause runs the rollout again.
	{Input: KindSkip, From: []contracts.State{queued, running, paused}, To: []contracts.State{queued, running, paused, completed}},
	{Input: KindReorder, From: []contracts.State{queued, running, paused}, To: []contracts.State{queued, running, paused}},
	{Input: KindExclude, From: []contracts.State{queued, running, paused}, To: []contracts.State{queued, running, paused, completed}},
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
