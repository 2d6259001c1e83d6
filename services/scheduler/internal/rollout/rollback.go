package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// rollbackVerb starts a rollback an operator asked for.
func (s *stepper) rollbackVerb(c Command) error {
	if !s.r.Admitted {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot roll back: rollout %s has not started; abort it instead", s.r.ID())
	}
	if s.r.Rollback != "" {
		return contracts.Errorf(contracts.CodeInvalidState, "cannot roll back: rollout %s is already rolling back", s.r.ID())
	}
	mode := RollbackBatched
	if c.Fast {
		mode = RollbackFast
	}
	c.Actor = actor(c)
	s.startRollback(c, mode)
	return nil
}

// startRollback turns the rollout around: no further forward step runs,
// and once no forward action is in flight, every host it changed gets its
// previous version back. The rollout is running until then.
func (s *stepper) startRollback(c Command, mode RollbackMode) {
	s.r.Rollback, s.r.RollbackBatch = mode, 0
	s.r.Gate, s.r.WaitUntil = "", time.Time{}
	s.r.State = running
	s.r.Reason, s.r.Actor = c.Reason, c.Actor
	s.emit(contracts.EventRollbackStarted, contracts.Event{Reason: c.Reason, Actor: c.Actor})
	s.stopPhase()
	if s.r.Counts.Running == 0 {
		s.advanceRollback()
	}
}

// rollbackRef is the phase reference of rollback actions and events: the
// reserved step id, after the plan's steps.
func (s *stepper) rollbackRef() *contracts.PhaseRef {
	return &contracts.PhaseRef{Index: len(s.r.Plan.Phases), Name: contracts.RollbackStepID, ID: contracts.RollbackStepID}
}

// reverseBatches lists the forward batches from the last to the first in
// run order, as (phase, batch number) pairs.
func (r Rollout) reverseBatches() [][2]int {
	var out [][2]int
	order := r.StepOrder()
	for k := len(order) - 1; k >= 0; k-- {
		p := order[k]
		for b := len(r.Plan.Phases[p].Batches); b >= 1; b-- {
			out = append(out, [2]int{p, b})
		}
	}
	return out
}

// changed reports whether the forward rollout changed host h, so the
// rollback must change it back.
func changed(h Host) bool {
	return h.Rollback == "" && (h.Status == HostSucceeded || h.Status == HostFailed && h.Installed)
}

// advanceRollback dispatches the next rollback batch with hosts to roll
// back, or ends the rollback. It does nothing while actions are in flight.
func (s *stepper) advanceRollback() {
	if s.r.Counts.Running > 0 {
		return
	}
	if s.switchBack() {
		return
	}
	order := s.r.reverseBatches()
	for s.r.RollbackBatch >= 0 && s.r.RollbackBatch < len(order) {
		var idx []int
		batch := 1
		if s.r.Rollback == RollbackFast {
			for i := len(s.r.Hosts) - 1; i >= 0; i-- {
				idx = append(idx, i)
			}
			s.r.RollbackBatch = len(order)
		} else {
			pb := order[s.r.RollbackBatch]
			s.r.RollbackBatch++
			batch = s.r.RollbackBatch
			from, to, _ := s.r.batchRange(pb[0], pb[1])
			for i := from; i < to; i++ {
				idx = append(idx, i)
			}
		}
		if s.dispatchRollback(idx, batch) {
			return
		}
	}
	s.finishRollback()
}

// dispatchRollback sends the rollback action of each changed host among
// idx; a changed host without a previous version is marked skipped, not
// guessed. It reports whether anything was dispatched.
func (s *stepper) dispatchRollback(idx []int, batch int) bool {
	ref := s.rollbackRef()
	var hosts []string
	var actions []Effect
	for _, i := range idx {
		h := s.r.Hosts[i]
		if !changed(h) {
			continue
		}
		if s.r.Plan.Hosts[h.Name].PreviousVersion == "" {
			h.Rollback = HostSkipped
			h.Error = fmt.Sprintf("not rolled back: no previous version of %s is recorded for this host", s.r.Plan.App)
			s.setHost(i, h)
			continue
		}
		h.Rollback = HostRunning
		s.r.Counts.Running++
		s.setHost(i, h)
		hosts = append(hosts, h.Name)
		actions = append(actions, s.rollbackAction(*ref, batch, h))
	}
	if len(hosts) == 0 {
		return false
	}
	if t := time.Duration(s.r.Plan.ActionTimeout); t > 0 {
		s.r.Deadline = s.now.Add(t)
	}
	s.emit(contracts.EventBatchStarted, contracts.Event{Phase: ref, Batch: batch, Hosts: hosts})
	s.effects = append(s.effects, actions...)
	return true
}

// rollbackAction deploys the host's previous version. It records the
// version it replaces (the rollout's), and runs the checks of the host's
// phase unless the rollback is fast.
func (s *stepper) rollbackAction(ref contracts.PhaseRef, batch int, h Host) Dispatch {
	plan := s.r.Plan
	ph := plan.Hosts[h.Name]
	var checks []contracts.NamedCheck
	if s.r.Rollback != RollbackFast {
		for _, name := range plan.Phases[h.Phase].Checks {
			checks = append(checks, contracts.NamedCheck{Name: name, Spec: plan.Checks[name]})
		}
	}
	pool := ph.Pool
	if pool == "" {
		pool = contracts.DefaultPool
	}
	return Dispatch{Pool: pool, Action: contracts.HostAction{
		ID:              contracts.RollbackActionID(plan.Rollout, h.Name),
		Rollout:         plan.Rollout,
		Environment:     plan.Environment,
		App:             plan.App,
		Version:         ph.PreviousVersion,
		PreviousVersion: plan.Version,
		Phase:           ref,
		Batch:           batch,
		Attempt:         1,
		Host:            contracts.ActionHost{Name: h.Name, Address: ph.Address, Params: ph.Params},
		Driver:          ph.Driver,
		Checks:          checks,
		Params:          plan.Params,
	}}
}

// rollbackResult applies the result of a rollback action.
func (s *stepper) rollbackResult(res contracts.HostResult) {
	i, ok := s.r.byName[res.Host]
	if !ok || s.r.Rollback == "" {
		return
	}
	h := s.r.Hosts[i]
	if h.Rollback != HostRunning || res.ActionID != contracts.RollbackActionID(s.r.ID(), h.Name) {
		return // a duplicate, or not an action of this rollout
	}
	s.r.Counts.Running--
	typ := contracts.EventHostSucceeded
	if res.Status == contracts.ResultSucceeded {
		h.Rollback, h.Error = HostSucceeded, ""
	} else {
		h.Rollback, h.Error = HostFailed, "rollback failed: "+res.Error
		typ = contracts.EventHostFailed
	}
	h.FinishedAt = s.now
	s.setHost(i, h)
	if s.r.Counts.Running == 0 {
		s.r.Deadline = time.Time{}
	}
	var took contracts.Duration
	if d := res.FinishedAt.Sub(res.StartedAt); !res.StartedAt.IsZero() && d > 0 {
		took = contracts.Duration(d)
	}
	s.emit(typ, contracts.Event{Phase: s.rollbackRef(), Batch: res.Batch, Host: &contracts.HostOutcome{
		Name: h.Name, Attempt: 1, Status: res.Status, Error: res.Error, Duration: took, Checks: res.Checks, Executor: res.Executor,
	}})
	if s.r.State == running && s.r.Counts.Running == 0 {
		s.advanceRollback()
	}
}

// rollbackTimeout fails the actions without a result by their deadline:
// rollback actions, or forward ones still in flight when the rollback
// started (a forward host failed before it installed stays as it is).
func (s *stepper) rollbackTimeout() {
	s.r.Deadline = time.Time{}
	s.changed = true
	timeout := time.Duration(s.r.Plan.ActionTimeout)
	for i, h := range s.r.Hosts {
		var ref *contracts.PhaseRef
		switch {
		case h.Rollback == HostRunning:
			h.Rollback = HostFailed
			h.Error = fmt.Sprintf("rollback failed: no result within the action timeout of %s", timeout)
			ref = s.rollbackRef()
		case h.Status == HostRunning:
			h.Status = HostFailed
			h.Error = fmt.Sprintf("no result within the action timeout of %s", timeout)
			s.r.Counts.Failed++
			ref = s.phaseRef(h.Phase)
		default:
			continue
		}
		h.FinishedAt = s.now
		s.r.Counts.Running--
		s.setHost(i, h)
		s.emit(contracts.EventHostFailed, contracts.Event{Phase: ref, Batch: h.Batch,
			Host: &contracts.HostOutcome{Name: h.Name, Attempt: max(h.Attempt, 1), Status: contracts.ResultFailed, Error: h.Error}})
	}
	if s.r.Counts.Running > 0 && s.switchingBack() {
		s.r.Counts.Running--
		s.trafficDone(false, fmt.Sprintf("no result within the action timeout of %s", timeout))
		return
	}
	// Measurements or a switch of the step the rollback stopped, still
	// without a result: no longer waited for.
	s.dropRound()
	if s.r.Counts.Running > 0 && s.stoppedSwitch(contracts.TrafficActionID(s.r.ID(), s.r.Plan.Phases[min(s.r.Phase, len(s.r.Plan.Phases)-1)].ID, s.r.TrafficAttempt)) {
		s.r.Counts.Running--
		s.r.TrafficAttempt = -s.r.TrafficAttempt
	}
	if s.r.State == running {
		s.advanceRollback()
	}
}

// finishRollback ends the rollout: rolled_back when every changed host
// runs its previous version again, else failed, naming the hosts left
// on the new version.
func (s *stepper) finishRollback() {
	var back int
	var left []string
	for _, h := range s.r.Hosts {
		switch h.Rollback {
		case HostSucceeded:
			back++
		case HostFailed, HostSkipped:
			left = append(left, h.Name)
		}
	}
	s.r.Actor = ActorScheduler
	if len(left) == 0 {
		s.r.State = rolledBack
		s.r.Reason = fmt.Sprintf("rolled back %d hosts to their previous version", back)
		s.emit(contracts.EventRolledBack, contracts.Event{Reason: s.r.Reason})
		return
	}
	slices.Sort(left)
	shown := left
	if len(shown) > 10 {
		shown = shown[:10]
	}
	s.r.State = failed
	s.r.Reason = fmt.Sprintf("rollback incomplete: %d hosts rolled back, %d still run %s: %s", back, len(left), s.r.Plan.Version, strings.Join(shown, ", "))
	s.emit(contracts.EventFailed, contracts.Event{Reason: s.r.Reason, Hosts: left})
}
