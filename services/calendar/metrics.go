package calendar

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/pkg/promreg"
)

type metrics struct {
	windows    *prometheus.GaugeVec
	admissions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		windows: promreg.Shared(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rollwave_calendar_windows",
			Help: "Windows stored, by environment.",
		}, []string{"environment"})),
		admissions: promreg.Shared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_calendar_admissions_total",
			Help: "Admission queries answered, by whether the rollout was allowed.",
		}, []string{"allowed"})),
	}
}
