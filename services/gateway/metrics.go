package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	opTotal    *prometheus.CounterVec
	opDuration *prometheus.HistogramVec
	published  *prometheus.CounterVec
	sseClients prometheus.Gauge
	sseEvents  prometheus.Counter

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		opTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_gateway_operations_total",
			Help: "API operations by operation and outcome code (ok or a contract error code).",
		}, []string{"op", "code"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rollwave_gateway_operation_duration_seconds",
			Help:    "Latency of API operations, including the NATS round trip.",
			Buckets: prometheus.DefBuckets,
		}, []string{"op"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_gateway_deploy_requests_total",
			Help: "Deploy requests published, by whether the broker found them duplicate.",
		}, []string{"duplicate"}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rollwave_gateway_event_streams",
			Help: "Clients currently following /v1/events.",
		}),
		sseEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rollwave_gateway_events_sent_total",
			Help: "Events sent to /v1/events clients.",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollwave_gateway_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rollwave_gateway_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern (event streams excluded).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.opTotal, m.opDuration, m.published, m.sseClients, m.sseEvents, m.httpRequests, m.httpDuration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register gateway metrics: %w", err)
		}
	}
	return m, nil
}
