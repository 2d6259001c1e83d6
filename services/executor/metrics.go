package executor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/pkg/promreg"
)

type metrics struct {
	actions      *prometheus.CounterVec
	seconds      *prometheus.HistogramVec
	inflight     prometheus.Gauge
	redeliveries prometheus.Counter
	rejected     prometheus.Counter
	gaveUp       prometheus.Counter
	checks       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{}
	var err error
	if m.actions, err = promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rollwave_executor_actions_total", Help: "Host actions acted on, by driver, environment and outcome.",
	}, []string{"driver", "environment", "status"})); err != nil {
		return nil, err
	}
	if m.seconds, err = promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rollwave_executor_action_seconds", Help: "Time to run a host action's driver and checks, by driver, environment and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14),
	}, []string{"driver", "environment", "status"})); err != nil {
		return nil, err
	}
	if m.inflight, err = promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rollwave_executor_inflight", Help: "Host actions being acted on now.",
	})); err != nil {
		return nil, err
	}
	if m.redeliveries, err = promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rollwave_executor_redeliveries_total", Help: "Action deliveries after the first (an executor died, stalled or retried).",
	})); err != nil {
		return nil, err
	}
	if m.rejected, err = promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rollwave_executor_rejected_total", Help: "Action messages that could not be read and were terminated.",
	})); err != nil {
		return nil, err
	}
	if m.gaveUp, err = promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rollwave_executor_gave_up_total", Help: "Actions failed after reaching their delivery limit.",
	})); err != nil {
		return nil, err
	}
	if m.checks, err = promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rollwave_executor_checks_total", Help: "Checks run, by kind and outcome (succeeded, failed, inconclusive).",
	}, []string{"kind", "status"})); err != nil {
		return nil, err
	}
	return m, nil
}
