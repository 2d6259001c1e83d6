// Package rollout is the scheduler's state machine for one rollout. It is
// pure: Step takes the rollout, one input and the current time and returns
// the next rollout and the effects (events to emit, host actions to
// dispatch, phases that ended) for the service loop to carry out. Nothing
// here does I/O or reads a clock, so every transition is table-testable and
// replaying the same inputs gives the same events.
package rollout

import (
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// StateNew is the state of a rollout the scheduler has not seen yet.
const StateNew contracts.State = ""

// ActorScheduler is the actor of transitions the scheduler makes itself.
const ActorScheduler = "scheduler"

// ActorUnknown is the actor recorded for a control command that names none.
const ActorUnknown = "unknown"

// HostStatus is where one host of a rollout stands.
type HostStatus string

const (
	HostPending   HostStatus = "pending"
	HostRunning   HostStatus = "running"
	HostSucceeded HostStatus = "succeeded"
	HostFailed    HostStatus = "failed"
	// HostSkipped, as a rollback status: the host was changed but has no
	// previous version to go back to, so it was left as it is.
	HostSkipped HostStatus = "skipped"
	// HostExcluded: an operator removed the host from the rest of the
	// rollout. A result of its action in flight is still recorded.
	HostExcluded HostStatus = "excluded"
)

// PhaseState is where one phase of a rollout stands.
type PhaseState string

const (
	PhasePending   PhaseState = "pending"
	PhaseRunning   PhaseState = "running"
	PhaseCompleted PhaseState = "completed"
	// PhaseStopped is a phase that was running when the rollout ended
	// (aborted or failed).
	PhaseStopped PhaseState = "stopped"
	// PhaseSkipped is a step an operator skipped; its hosts are skipped.
	PhaseSkipped PhaseState = "skipped"
)

// Host is one host of a rollout, in plan order.
type Host struct {
	Name  string
	Phase int
	// Batch is the batch number within the phase, from 1.
	Batch    int
	Status   HostStatus
	Attempt  int
	ActionID string
	Error    string
	// DispatchedAt is when the action was dispatched, FinishedAt when its
	// result was applied (scheduler time).
	DispatchedAt time.Time
	FinishedAt   time.Time
	// Installed: the host's forward action installed the new version
	// (it succeeded, or failed after install), so a rollback changes it
	// back.
	Installed bool
	// Rollback is the status of the host's rollback action ("" when it
	// has none); its action id is contracts.RollbackActionID.
	Rollback HostStatus
	// Measured is the Rollout.MeasureSeq of the last analysis round whose
	// measurement of this host was applied, so a round counts each host
	// once.
	Measured int
	// Recorded is the newest attempt whose result is in the rollout's
	// history (applied, or recorded as a late_result), so a redelivered
	// result is never recorded twice.
	Recorded int
}

// Phase is the progress of one phase of the plan.
type Phase struct {
	State     PhaseState
	StartedAt time.Time
	EndedAt   time.Time
	// Failed counts the step's failed hosts against its own budget
	// (PlannedPhase.MaxFailed): since it started, or since the last
	// resume or retry, like the rollout's budget.
	Failed int
}

// Rollout is the scheduler's state of one rollout. Step treats the rollout
// row and Phases as a value, but updates Hosts in place, so that applying
// one host result costs O(1) and not a copy of every host: after a
// successful Step only the returned rollout is valid. A refused input
// leaves the rollout, hosts included, unchanged.
type Rollout struct {
	Plan  contracts.Plan
	State contracts.State
	// Order is the arrival order of the planned event (its stream
	// sequence); waiting rollouts of an environment start in this order.
	Order uint64
	// Admitted is set once the rollout has started; a paused rollout that
	// was never admitted goes back to the queue when resumed.
	Admitted bool
	// Reason and Actor describe the last transition.
	Reason string
	Actor  string
	// WaitReason is the reason of the last queued event, so that a
	// rollout is reported as waiting again only when the reason changes.
	WaitReason string
	// Seq is the number of the last event emitted for the rollout.
	Seq int64
	// Phase is the index in Plan.Phases of the current step; len(Plan.Phases)
	// once all steps are done.
	Phase int
	// RunOrder is the order the steps run in, as indexes into Plan.Phases;
	// nil is plan order. Reorder changes only this, so host positions,
	// batch arithmetic and stored rows, which key on a step's index or id,
	// never move.
	RunOrder []int
	// Batch is the number of the current batch within the phase, from 1;
	// 0 before the phase's first batch.
	Batch int
	// FailedBase is Counts.Failed when the rollout was last resumed: the
	// failure budget counts failures after it.
	FailedBase int
	// Deadline is when the hosts of the batch in flight that have no
	// result yet count as failed (Plan.ActionTimeout after the batch was
	// dispatched); zero when no batch is in flight or there is no timeout.
	Deadline time.Time
	// Gate is the id of the gate the rollout waits at, "" when none;
	// GatePassed is the last gate approved, so that advancing again does
	// not stop at it twice. While Gate is set, Deadline is its timeout.
	Gate       string
	GatePassed string
	// WaitUntil is when the wait step the rollout is at ends; zero when
	// it is at none. Like Deadline it is a stored timer.
	WaitUntil time.Time
	// Rollback is how the rollout is rolling back ("" when it is not);
	// RollbackBatch counts the forward batches, from the last, that the
	// rollback has gone through.
	Rollback      RollbackMode
	RollbackBatch int
	// AnalysisRound is the round of the analysis step in progress (from
	// 1), AnalysisFailed its failed measurements so far; MeasureSeq
	// counts rounds over the whole rollout (see Host.Measured).
	AnalysisRound  int
	AnalysisFailed int
	MeasureSeq     int
	// Traffic is the set traffic goes to since a traffic step switched it
	// ("" before, and again once the rollout completed: the old set is
	// retired, a rollback then redeploys); TrafficAttempt is the attempt
	// of the traffic step's switch in flight, or minus the last one once
	// its result is in.
	Traffic        string
	TrafficAttempt int
	// Guided is set while the rollout is paused by guided failure, which
	// offers each failed host's choices (Offer).
	Guided    bool
	Counts    contracts.Counts
	Hosts     []Host
	Phases    []Phase
	CreatedAt time.Time
	UpdatedAt time.Time
	// Changed lists the positions in Hosts that Step changed since the
	// rollout was last saved (possibly with repeats), so the store writes
	// only those rows; the service loop clears it after a commit.
	Changed []int
	// byName indexes Hosts by host name; built on first use.
	byName map[string]int
}

// RollbackMode says how a rollout rolls back.
type RollbackMode string

const (
	// RollbackBatched goes through the forward batches from the last to
	// the first, running each host's checks.
	RollbackBatched RollbackMode = "batched"
	// RollbackFast rolls every changed host back in one batch, without
	// checks.
	RollbackFast RollbackMode = "fast"
)

// NextTimer is the earliest stored timer of the rollout (action or gate
// deadline, end of a wait), zero when it has none. The service loop sends
// a Timer input once it has come.
func (r Rollout) NextTimer() time.Time {
	switch {
	case r.Deadline.IsZero():
		return r.WaitUntil
	case r.WaitUntil.IsZero() || r.Deadline.Before(r.WaitUntil):
		return r.Deadline
	}
	return r.WaitUntil
}

// ID returns the rollout id.
func (r Rollout) ID() string { return r.Plan.Rollout }

// Environment returns the environment the rollout deploys to.
func (r Rollout) Environment() string { return r.Plan.Environment }

// Active reports whether the rollout holds its environment: it has started
// and has not ended. One rollout at a time may be active per environment.
func (r Rollout) Active() bool {
	return r.Admitted && (r.State == contracts.StateRunning || r.State == contracts.StatePaused)
}

// CurrentPhase returns the index of the phase shown to users: the current
// one, or the last one once the rollout went past it.
func (r Rollout) CurrentPhase() int {
	if n := len(r.Plan.Phases); r.Phase >= n && n > 0 {
		return n - 1
	}
	return r.Phase
}

// Summary returns the rollout without per-host detail.
func (r Rollout) Summary() contracts.RolloutSummary {
	return contracts.RolloutSummary{
		Rollout:     r.ID(),
		App:         r.Plan.App,
		Version:     r.Plan.Version,
		Environment: r.Plan.Environment,
		State:       r.State,
		Reason:      r.Reason,
		Phase:       r.CurrentPhase(),
		Counts:      r.Counts,
		CreatedAt:   FormatTime(r.CreatedAt),
		UpdatedAt:   FormatTime(r.UpdatedAt),
	}
}

// FormatTime renders an instant as the API shows it, "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// batchRange returns the positions in Hosts of a batch (phase index,
// batch number from 1), or ok=false when there is no such batch.
func (r Rollout) batchRange(phase, batch int) (from, to int, ok bool) {
	if phase < 0 || phase >= len(r.Plan.Phases) {
		return 0, 0, false
	}
	batches := r.Plan.Phases[phase].Batches
	if batch < 1 || batch > len(batches) {
		return 0, 0, false
	}
	for p := 0; p < phase; p++ {
		for _, b := range r.Plan.Phases[p].Batches {
			from += len(b)
		}
	}
	for b := 0; b < batch-1; b++ {
		from += len(batches[b])
	}
	return from, from + len(batches[batch-1]), true
}

// hostIndex finds a host by the phase and batch its action was dispatched
// in; -1 when the rollout has no such host there. It needs the index built
// by indexHosts.
func (r Rollout) hostIndex(phase, batch int, name string) int {
	i, ok := r.byName[name]
	if !ok || i >= len(r.Hosts) || r.Hosts[i].Phase != phase || r.Hosts[i].Batch != batch {
		return -1
	}
	return i
}

// IndexHosts builds the host index if it is missing (a rollout loaded from
// the store, or a zero value): once per rollout, not per input.
func (r *Rollout) IndexHosts() {
	if r.byName != nil || len(r.Hosts) == 0 {
		return
	}
	r.byName = make(map[string]int, len(r.Hosts))
	for i, h := range r.Hosts {
		r.byName[h.Name] = i
	}
}

// PhaseHosts lists the hosts of a phase in plan order.
func (r Rollout) PhaseHosts(phase int) []string {
	var hosts []string
	for _, b := range r.Plan.Phases[phase].Batches {
		hosts = append(hosts, b...)
	}
	return hosts
}

// View returns the rollout with its phases and hosts as the API shows it.
func (r Rollout) View() contracts.RolloutView {
	v := contracts.RolloutView{RolloutSummary: r.Summary(), RequestedBy: r.Plan.RequestedBy, Phases: []contracts.PhaseView{}}
	for pi, ph := range r.Plan.Phases {
		pv := contracts.PhaseView{Index: pi, ID: ph.ID, Name: ph.Name, Kind: ph.Kind, State: string(PhasePending), Batches: len(ph.Batches), Hosts: []contracts.HostView{}}
		if pi < len(r.Phases) {
			pv.State = string(r.Phases[pi].State)
		}
		v.Phases = append(v.Phases, pv)
	}
	if r.Guided && r.State == contracts.StatePaused {
		v.Offer = r.Offer()
	}
	if r.RunOrder != nil {
		for _, p := range r.StepOrder() {
			v.RunOrder = append(v.RunOrder, r.Plan.Phases[p].ID)
		}
	}
	for _, h := range r.Hosts {
		if h.Phase < 0 || h.Phase >= len(v.Phases) {
			continue
		}
		v.Phases[h.Phase].Hosts = append(v.Phases[h.Phase].Hosts, contracts.HostView{
			Name: h.Name, Batch: h.Batch, State: string(h.Status), Attempt: h.Attempt, Error: h.Error, Rollback: string(h.Rollback),
		})
	}
	return v
}
