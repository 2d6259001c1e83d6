package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/promreg"
)

type metrics struct {
	rollouts     *prometheus.GaugeVec
	events       *prometheus.CounterVec
	dispatched   prometheus.Counter
	applySeconds prometheus.Histogram
	rejected     *prometheus.CounterVec
	outbox       prometheus.Gauge
	failures     prometheus.Counter
	sre          *sreMetrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rollouts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rollwave_scheduler_rollouts", Help: "Rollouts known to the scheduler, by state.",
		}, []string{"state"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_scheduler_events_total", Help: "Rollout events committed, by type.",
		}, []string{"type"}),
		dispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rollwave_scheduler_actions_dispatched_total", Help: "Host actions committed for dispatch.",
		}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rollwave_scheduler_batch_apply_seconds", Help: "Time to apply, commit and publish one batch of inputs.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_scheduler_inputs_rejected_total", Help: "Stream messages refused as malformed or invalid, by stream.",
		}, []string{"stream"}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rollwave_scheduler_outbox_pending", Help: "Committed messages not yet acknowledged by JetStream.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rollwave_scheduler_apply_failures_total", Help: "Batches of inputs that could not be committed and will be replayed.",
		}),
	}
	// A scheduler restarted in the same process (tests, `rollwave dev`)
	// reuses the collectors already registered.
	var err error
	m.rollouts, err = promreg.Register(reg, m.rollouts)
	if err == nil {
		m.events, err = promreg.Register(reg, m.events)
	}
	if err == nil {
		m.dispatched, err = promreg.Register(reg, m.dispatched)
	}
	if err == nil {
		m.applySeconds, err = promreg.Register(reg, m.applySeconds)
	}
	if err == nil {
		m.rejected, err = promreg.Register(reg, m.rejected)
	}
	if err == nil {
		m.outbox, err = promreg.Register(reg, m.outbox)
	}
	if err == nil {
		m.failures, err = promreg.Register(reg, m.failures)
	}
	if err == nil {
		m.sre, err = newSREMetrics(reg)
	}
	return m, err
}

// scheduledStates are the states the rollouts gauge reports.
var scheduledStates = []contracts.State{contracts.StateQueued, contracts.StateRunning, contracts.StatePaused,
	contracts.StateCompleted, contracts.StateFailed, contracts.StateAborted, contracts.StateRolledBack}

func (m *metrics) setStates(counts map[contracts.State]int) {
	for _, st := range scheduledStates {
		m.rollouts.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
}

func (m *metrics) transition(from, to contracts.State) {
	if from != "" {
		m.rollouts.WithLabelValues(string(from)).Dec()
	}
	m.rollouts.WithLabelValues(string(to)).Inc()
}
