package calendar

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	windows    *prometheus.GaugeVec
	admissions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		windows: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rollwave_calendar_windows",
			Help: "Windows stored, by environment.",
		}, []string{"environment"})),
		admissions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_calendar_admissions_total",
			Help: "Admission queries answered, by whether the rollout was allowed.",
		}, []string{"allowed"})),
	}
}

// register registers c, or returns the collector already registered under
// its name, so that a service restarted in the same process keeps counting.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
