package rollout

import (
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// trafficStep runs traffic step p: one traffic action, and the step is
// done once traffic goes to its target.
func (s *stepper) trafficStep(p int) bool {
	step := s.r.Plan.Phases[p]
	if s.r.Phases[p].State == PhasePending {
		s.startStep(p)
		s.r.TrafficAttempt = 1
		s.dispatchTraffic(s.phaseRef(p), *step.Traffic, s.r.TrafficAttempt)
		return false
	}
	if s.r.Counts.Running > 0 {
		return false
	}
	if s.r.Traffic != step.Traffic.Target {
		// The switch failed and the rollout was resumed: a new attempt.
		s.r.TrafficAttempt = max(-s.r.TrafficAttempt, 0) + 1
		s.dispatchTraffic(s.phaseRef(p), *step.Traffic, s.r.TrafficAttempt)
		return false
	}
	s.r.TrafficAttempt = 0
	s.completeStep(p)
	return true
}

// atTraffic reports whether the rollout is at a traffic step.
func (s *stepper) atTraffic() bool {
	p := s.r.Phase
	return s.r.Rollback == "" && p < len(s.r.Plan.Phases) && s.r.Plan.Phases[p].Kind == contracts.StepTraffic &&
		s.r.Phases[p].State == PhaseRunning
}

// trafficStepOf returns the plan's traffic step, if it has one.
func (r Rollout) trafficStepOf() (contracts.PlannedPhase, bool) {
	for _, ph := range r.Plan.Phases {
		if ph.Kind == contracts.StepTraffic && ph.Traffic != nil {
			return ph, true
		}
	}
	return contracts.PlannedPhase{}, false
}

// dispatchTraffic sends a traffic action for the step ref: an exec switch
// runs as the action's driver, an HTTP one by the executor's own call.
func (s *stepper) dispatchTraffic(ref *contracts.PhaseRef, t contracts.PlannedTraffic, attempt int) {
	plan := s.r.Plan
	pool := contracts.DefaultPool
	for _, ph := range plan.Phases {
		if len(ph.Batches) > 0 && len(ph.Batches[0]) > 0 {
			if h := plan.Hosts[ph.Batches[0][0]]; h.Pool != "" {
				pool = h.Pool
			}
			break
		}
	}
	var driver contracts.DriverSpec
	if t.Exec != nil {
		x := *t.Exec
		driver.Exec = &x
	}
	if d := time.Duration(plan.ActionTimeout); d > 0 {
		s.r.Deadline = s.now.Add(d)
	}
	s.r.Counts.Running++
	s.emit(contracts.EventBatchStarted, contracts.Event{Phase: ref, Batch: attempt, Reason: t.String()})
	s.effects = append(s.effects, Dispatch{Pool: pool, Action: contracts.HostAction{
		ID: contracts.TrafficActionID(plan.Rollout, ref.ID, attempt), Rollout: plan.Rollout, Environment: plan.Environment,
		App: plan.App, Version: plan.Version, Phase: *ref, Batch: attempt, Attempt: attempt,
		Host: contracts.ActionHost{Name: contracts.TrafficHost}, Driver: driver, Params: plan.Params,
		Kind: contracts.ActionTraffic, Traffic: &t,
	}})
}

// switchBackSent is the RollbackBatch of a rollback that switches traffic
// back instead of walking batches.
const switchBackSent = -1

// switchingBack reports whether the rollback's switch back is in flight.
func (s *stepper) switchingBack() bool {
	return s.r.Rollback != "" && s.r.RollbackBatch == switchBackSent && s.r.Counts.Running > 0
}

// switchBack starts the rollback of a rollout whose traffic goes to the
// new set: traffic goes back to the old set, which still runs the old
// version, and no host is redeployed. It reports whether it did.
func (s *stepper) switchBack() bool {
	t, ok := s.r.trafficStepOf()
	if !ok || s.r.RollbackBatch != 0 || s.r.Traffic != t.Traffic.Target || t.Traffic.From == "" {
		return false
	}
	back := contracts.PlannedTraffic{Target: t.Traffic.From, From: t.Traffic.Target, Exec: t.Traffic.Exec, HTTP: t.Traffic.HTTP}
	s.r.RollbackBatch = switchBackSent
	s.dispatchTraffic(s.rollbackRef(), back, 1)
	return true
}

// trafficResult applies the result of a traffic action: of the traffic
// step in progress, or of the rollback's switch back.
func (s *stepper) trafficResult(res contracts.HostResult) {
	switch {
	case s.switchingBack():
		if res.ActionID != contracts.TrafficActionID(s.r.ID(), contracts.RollbackStepID, 1) {
			return
		}
	case s.atTraffic():
		if s.r.TrafficAttempt <= 0 || res.ActionID != contracts.TrafficActionID(s.r.ID(), s.r.Plan.Phases[s.r.Phase].ID, s.r.TrafficAttempt) {
			return // a duplicate, or an earlier attempt's
		}
	case s.stoppedSwitch(res.ActionID):
		// The rollout turned around (rollback, abort) with the switch in
		// flight: record where traffic went, and go on with the rollback.
		s.r.Counts.Running--
		s.r.TrafficAttempt = -s.r.TrafficAttempt // no longer in flight
		s.changed = true
		if res.Status == contracts.ResultSucceeded {
			s.r.Traffic = s.r.Plan.Phases[s.r.Phase].Traffic.Target
		}
		if s.r.Counts.Running == 0 {
			s.r.Deadline = time.Time{}
			if s.r.State == running {
				s.advance()
			}
		}
		return
	default:
		return // not in flight: late, changes nothing
	}
	if s.r.Counts.Running == 0 {
		return
	}
	s.r.Counts.Running--
	s.trafficDone(res.Status == contracts.ResultSucceeded, res.Error)
}

// stoppedSwitch reports whether id is the action of the traffic step the
// rollout stopped at (rolling back, aborted) while it was in flight.
func (s *stepper) stoppedSwitch(id string) bool {
	p := s.r.Phase
	if p >= len(s.r.Plan.Phases) || s.r.Plan.Phases[p].Kind != contracts.StepTraffic || s.r.Counts.Running == 0 ||
		s.r.Phases[p].State == PhaseRunning && s.r.Rollback == "" {
		return false
	}
	step := s.r.Plan.Phases[p]
	return s.r.TrafficAttempt > 0 && id == contracts.TrafficActionID(s.r.ID(), step.ID, s.r.TrafficAttempt)
}

// trafficDone records the outcome of the traffic action in flight.
func (s *stepper) trafficDone(ok bool, errText string) {
	s.r.Deadline = time.Time{}
	back := s.r.Rollback != "" && s.r.RollbackBatch == switchBackSent
	t, _ := s.r.trafficStepOf()
	ref, target := s.rollbackRef(), t.Traffic.From
	if !back {
		ref, target = s.phaseRef(s.r.Phase), s.r.Plan.Phases[s.r.Phase].Traffic.Target
	}
	if !back {
		// The attempt is no longer in flight; a resume numbers the next.
		s.r.TrafficAttempt = -s.r.TrafficAttempt
	}
	typ, status := contracts.EventHostSucceeded, contracts.ResultSucceeded
	if !ok {
		typ, status = contracts.EventHostFailed, contracts.ResultFailed
	}
	s.emit(typ, contracts.Event{Phase: ref, Batch: 1, Host: &contracts.HostOutcome{
		Name: contracts.TrafficHost, Attempt: 1, Status: status, Error: errText}})
	switch {
	case back && ok:
		s.r.Traffic = target
		s.r.State, s.r.Actor = rolledBack, ActorScheduler
		s.r.Reason = fmt.Sprintf("switched traffic back to %s; no host was redeployed", target)
		s.emit(contracts.EventRolledBack, contracts.Event{Reason: s.r.Reason})
	case back:
		s.r.State, s.r.Actor = failed, ActorScheduler
		s.r.Reason = fmt.Sprintf("switching traffic back to %s failed: %s", target, errText)
		s.emit(contracts.EventFailed, contracts.Event{Reason: s.r.Reason})
	case ok:
		s.r.Traffic = target
		if s.r.State == running {
			s.advance()
		}
	case s.r.State == running:
		s.stepFailed(fmt.Sprintf("switching traffic to %s failed: %s", target, errText))
	}
}

// trafficTimeout fails the traffic action without a result by its
// deadline.
func (s *stepper) trafficTimeout() {
	s.changed = true
	if s.r.Counts.Running == 0 {
		s.r.Deadline = time.Time{}
		return
	}
	s.r.Counts.Running--
	s.trafficDone(false, fmt.Sprintf("no result within the action timeout of %s", time.Duration(s.r.Plan.ActionTimeout)))
}

// stepFailed applies the rollout's on_failure to a step that failed.
func (s *stepper) stepFailed(reason string) {
	s.r.Reason, s.r.Actor = reason, ActorScheduler
	switch s.r.Plan.OnFailure {
	case contracts.OnFailureRollback:
		s.startRollback(Command{Actor: ActorScheduler, Reason: reason}, RollbackBatched)
	case contracts.OnFailureAbort:
		s.r.State = failed
		s.emit(contracts.EventFailed, contracts.Event{Reason: reason})
		s.stopPhase()
	default:
		s.r.State = paused
		s.emit(contracts.EventPaused, contracts.Event{Reason: reason})
	}
}
