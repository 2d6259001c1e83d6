package discovery

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	hosts   *prometheus.GaugeVec
	applied prometheus.Counter
	ignored *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		hosts: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rollwave_discovery_hosts",
			Help: "Hosts in the inventory, by environment.",
		}, []string{"environment"})),
		applied: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rollwave_discovery_results_applied_total",
			Help: "Succeeded host results recorded as the version a host runs.",
		})),
		ignored: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_discovery_results_ignored_total",
			Help: "Host results that changed no version, by reason (failed, invalid).",
		}, []string{"reason"})),
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
