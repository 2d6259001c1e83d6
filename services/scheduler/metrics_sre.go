package scheduler

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/promreg"
	"github.com/rollwave/rollwave/services/scheduler/internal/store"
)

// sreMetrics are the series an SRE alerts on. Labels are bounded: no host
// or rollout ids, only environments, applications, states and the
// version currently deployed (one per application and environment).
type sreMetrics struct {
	duration    *prometheus.HistogramVec
	queued      *prometheus.HistogramVec
	live        *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	deployed    *prometheus.GaugeVec
	freeze      *prometheus.GaugeVec
	// freezeEnvs are the environments freeze reports; the loop's own.
	freezeEnvs map[string]bool
}

func newSREMetrics(reg prometheus.Registerer) (*sreMetrics, error) {
	// Rollouts last from seconds (a simulated host) to days (gates, soaks).
	buckets := prometheus.ExponentialBuckets(1, 2, 19)
	m := &sreMetrics{}
	var err error
	if m.duration, err = promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rollwave_scheduler_rollout_duration_seconds", Help: "Time from a rollout's arrival at the scheduler to its end, by environment and final state.",
		Buckets: buckets,
	}, []string{"environment", "state"})); err != nil {
		return nil, err
	}
	if m.queued, err = promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rollwave_scheduler_rollout_queued_seconds", Help: "Time a rollout waited for admission before it started, by environment.",
		Buckets: buckets,
	}, []string{"environment"})); err != nil {
		return nil, err
	}
	if m.live, err = promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollwave_scheduler_environment_rollouts", Help: "Rollouts that have not ended, by environment and state (queued is the queue depth).",
	}, []string{"environment", "state"})); err != nil {
		return nil, err
	}
	if m.lastSuccess, err = promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollwave_scheduler_last_success_timestamp_seconds", Help: "When the last rollout of an application to an environment completed, in Unix seconds.",
	}, []string{"app", "environment"})); err != nil {
		return nil, err
	}
	if m.deployed, err = promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollwave_scheduler_deployed_version_info", Help: "Always 1: the version of the last completed rollout of an application to an environment.",
	}, []string{"app", "environment", "version"})); err != nil {
		return nil, err
	}
	if m.freeze, err = promreg.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rollwave_scheduler_freeze_active", Help: "1 while a freeze or stop window published by the calendar is open for the environment (\"*\": all), else 0.",
	}, []string{"environment"})); err != nil {
		return nil, err
	}
	return m, nil
}

// loadSREMetrics sets the gauges that outlive a restart from the
// database: the rollouts in flight and the versions deployed.
func (s *Service) loadSREMetrics(ctx context.Context) error {
	deployed, err := s.store.LastDeployed(ctx)
	if err != nil {
		return err
	}
	for _, d := range deployed {
		s.deployedNow(d)
	}
	s.m.sre.live.Reset()
	envs := map[string]bool{}
	for env := range s.liveByEnv {
		envs[env] = true
	}
	s.countLive(envs)
	return nil
}

// liveStates are the states of environment_rollouts.
var liveStates = []contracts.State{contracts.StateQueued, contracts.StateRunning, contracts.StatePaused}

// countLive sets environment_rollouts for the given environments from the
// rollouts in memory; an environment with none reports zeros.
func (s *Service) countLive(envs map[string]bool) {
	for env := range envs {
		counts := map[contracts.State]int{}
		for id := range s.liveByEnv[env] {
			counts[s.live[id].r.State]++
		}
		for _, st := range liveStates {
			s.m.sre.live.WithLabelValues(env, string(st)).Set(float64(counts[st]))
		}
	}
}

// observeTransition records a committed rollout that started or ended.
func (s *Service) observeTransition(st *staged, now time.Time) {
	r := st.rec.Rollout
	env := r.Environment()
	if r.State.Terminal() {
		s.m.sre.duration.WithLabelValues(env, string(r.State)).Observe(now.Sub(r.CreatedAt).Seconds())
		if r.State == contracts.StateCompleted {
			s.deployedNow(store.Deployed{App: r.Plan.App, Environment: env, Version: r.Plan.Version, At: now})
		}
	}
	if r.Admitted && (st.saved == nil || !st.saved.Admitted) { // it has just started
		s.m.sre.queued.WithLabelValues(env).Observe(now.Sub(r.CreatedAt).Seconds())
	}
}

// deployedNow records the version an application runs in an environment,
// replacing the one before it.
func (s *Service) deployedNow(d store.Deployed) {
	s.m.sre.deployed.DeletePartialMatch(prometheus.Labels{"app": d.App, "environment": d.Environment})
	s.m.sre.deployed.WithLabelValues(d.App, d.Environment, d.Version).Set(1)
	s.m.sre.lastSuccess.WithLabelValues(d.App, d.Environment).Set(float64(d.At.Unix()))
}

// setFreezes sets freeze_active from the windows the calendar published:
// 1 for an environment with a freeze or stop open at now, 0 for one whose
// freezes are all closed. Nothing is known before the calendar synced.
func (s *Service) setFreezes(now time.Time) {
	windows, ok := s.calState.snapshot()
	if !ok {
		return
	}
	active := map[string]bool{}
	for _, w := range windows {
		if w.Window.Kind != contracts.WindowFreeze && w.Window.Kind != contracts.WindowStop {
			continue
		}
		envs := w.Window.Environments
		if w.Window.Environment != "" {
			envs = append(envs, w.Window.Environment)
		}
		if w.Window.Kind == contracts.WindowStop {
			envs = []string{contracts.AllEnvironments} // a stop applies everywhere
		}
		for _, env := range envs {
			open := false
			for _, o := range w.Occurrences {
				if !now.Before(o.Start) && now.Before(o.End) {
					open = true
				}
			}
			active[env] = active[env] || open
		}
	}
	// Set, then drop environments no longer named, so that a scrape in
	// between never sees a series missing.
	for env, open := range active {
		v := 0.0
		if open {
			v = 1
		}
		s.m.sre.freeze.WithLabelValues(env).Set(v)
	}
	for env := range s.m.sre.freezeEnvs {
		if _, ok := active[env]; !ok {
			s.m.sre.freeze.DeleteLabelValues(env)
		}
	}
	s.m.sre.freezeEnvs = active
}
