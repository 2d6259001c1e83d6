// Package service holds what every Rollwave service is given and the
// lifecycle it follows, so that `rollwave dev`, `rollwave serve` and tests
// wire services the same way.
package service

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/rollwave/rollwave/pkg/clock"
)

// Deps are the shared dependencies injected into a service. No service
// reaches for globals.
type Deps struct {
	NC      *nats.Conn
	JS      jetstream.JetStream
	Log     *slog.Logger
	Tracer  trace.TracerProvider
	Metrics prometheus.Registerer
	Clock   clock.Clock
}

// WithDefaults fills what the caller left out: a logger that discards, a
// tracer that records nothing, the real clock and a private metrics
// registry. NC and JS have no default.
func (d Deps) WithDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider()
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	return d
}

// Service is a long-running Rollwave service.
type Service interface {
	// Name is the service's name as `rollwave serve` knows it.
	Name() string
	// Start sets the service up and returns once it is serving; work
	// continues in the background until Stop.
	Start(ctx context.Context) error
	// Stop stops taking work, lets work in flight finish or reach a state
	// it can resume from, and returns; ctx bounds how long that may take.
	Stop(ctx context.Context) error
}
