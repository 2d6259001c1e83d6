package scheduler

import (
	"context"
	"maps"
	"slices"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/scheduler/internal/admission"
	"github.com/rollwave/rollwave/services/scheduler/internal/calhold"
)

// checkAdmission decides about the waiting rollouts of the given
// environments (all when nil): verdicts that need no calendar are applied
// at once, and the calendar is asked about the head of each free
// environment.
func (s *Service) checkAdmission(envs map[string]bool) {
	if s.broken {
		return
	}
	d := admission.Decide(s.entries(envs), s.deps.Clock.Now(), nil)
	if len(d.Verdicts) > 0 {
		s.apply(nil, d.Verdicts)
	}
	for _, a := range d.Ask {
		s.ask(a)
	}
}

// processRechecks looks again at environments whose rollouts changed
// state: one may have freed up, or a new rollout arrived.
func (s *Service) processRechecks() {
	for i := 0; len(s.recheck) > 0 && i < 8; i++ {
		envs := s.recheck
		s.recheck = map[string]bool{}
		s.checkAdmission(envs)
	}
}

func (s *Service) entries(envs map[string]bool) []admission.Entry {
	// Only the environments asked about are looked at: with thousands of
	// live rollouts, scanning them all on every answer is quadratic.
	var ids []string
	if envs == nil {
		ids = slices.Sorted(maps.Keys(s.live))
	} else {
		for env := range envs {
			for id := range s.liveByEnv[env] {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	}
	out := make([]admission.Entry, 0, len(ids))
	for _, id := range ids {
		r := s.live[id].r
		out = append(out, admission.Entry{Rollout: id, Environment: r.Environment(), Order: r.Order,
			State: r.State, Admitted: r.Admitted, StartAt: r.Plan.StartAt, Exempt: s.holds[id].State == calhold.Exempt})
	}
	return out
}

// ask puts the question to the calendar in the background, at most one
// per environment at a time. A calendar that cannot be reached refuses.
func (s *Service) ask(a admission.Ask) {
	if s.asking[a.Environment] {
		return
	}
	s.asking[a.Environment] = true
	at := s.deps.Clock.Now()
	var tp, team string
	var labels map[string]string
	if l, ok := s.live[a.Rollout]; ok {
		tp, team, labels = l.traceparent, l.r.Plan.Team, l.r.Plan.Labels
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.AdmitTimeout)
		defer cancel()
		// The calendar's span is a child of the admission span, which is
		// emitted once the rollout starts.
		ctx = childOf(ctx, tp, admissionSpanID)
		adm, err := natsx.Request[contracts.Admission](ctx, s.deps.NC, contracts.APICalendarAdmit,
			contracts.AdmitQuery{Environment: a.Environment, At: at, Team: team, Labels: labels})
		ans := admission.FromCalendar(a.Rollout, adm)
		if w, stopped := s.calState.lineStopAt(at); stopped && err == nil && ans.Allowed {
			// The line stop is not the calendar's: it holds whatever the
			// calendar answers.
			ans = admission.FromCalendar(a.Rollout, contracts.Admission{Window: &w})
		}
		if err != nil {
			if s.runCtx.Err() != nil {
				return
			}
			if states, ok := s.calState.snapshot(); ok {
				// Known windows keep applying; none are invented.
				ans = admission.FromState(a.Rollout, states, a.Environment, at, team, labels)
				s.log.Warn("calendar unavailable; deciding from its last published state", "environment", a.Environment,
					"rollout", a.Rollout, "allowed", ans.Allowed, "err", err)
			} else {
				s.log.Warn("calendar unavailable; admission refused until it answers", "environment", a.Environment,
					"rollout", a.Rollout, "err", err)
				ans = admission.Unavailable(a.Rollout)
			}
		}
		select {
		case s.answers <- calendarAnswer{env: a.Environment, answer: ans}:
		case <-s.runCtx.Done():
		}
	}()
}

func (s *Service) onAnswer(ans calendarAnswer) {
	delete(s.asking, ans.env)
	if s.broken {
		return
	}
	envs := map[string]bool{ans.env: true}
	d := admission.Decide(s.entries(envs), s.deps.Clock.Now(), map[string]admission.Answer{ans.env: ans.answer})
	if len(d.Verdicts) > 0 {
		s.apply(nil, d.Verdicts)
	}
	for _, a := range d.Ask {
		s.ask(a)
	}
}

// calendarAnswer is the calendar's answer for an environment.
type calendarAnswer struct {
	env    string
	answer admission.Answer
}
