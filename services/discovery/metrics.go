package discovery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/pkg/promreg"
)

type metrics struct {
	hosts   *prometheus.GaugeVec
	applied prometheus.Counter
	ignored *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		hosts: promreg.Shared(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rollwave_discovery_hosts",
			Help: "Hosts in the inventory, by environment.",
		}, []string{"environment"})),
		applied: promreg.Shared(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rollwave_discovery_results_applied_total",
			Help: "Succeeded host results recorded as the version a host runs.",
		})),
		ignored: promreg.Shared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_discovery_results_ignored_total",
			Help: "Host results that changed no version, by reason (failed, invalid).",
		}, []string{"reason"})),
	}
}
