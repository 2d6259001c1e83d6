package executor

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/rollwave/rollwave/contracts"
)

// Span names stay few and fixed, so a trace backend's operation list does
// not grow with every host; what varies goes in attributes.
const (
	spanHostDeploy = "host.deploy"
	spanCheckRun   = "check.run"
)

// actionAttributes describe a host action on its span. The messaging
// attributes follow OpenTelemetry's conventions for the NATS delivery the
// action came in.
func (s *Service) actionAttributes(a contracts.HostAction) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", contracts.ActionSubject(s.cfg.Pool, a.Environment)),
		attribute.String("messaging.message.id", a.ID),
		attribute.String("rollwave.rollout", a.Rollout),
		attribute.String("rollwave.action.id", a.ID),
		attribute.Int("rollwave.attempt", a.Attempt),
		attribute.String("rollwave.app", a.App),
		attribute.String("rollwave.version", a.Version),
		attribute.String("rollwave.environment", a.Environment),
		attribute.String("rollwave.host", a.Host.Name),
		attribute.String("rollwave.step.id", a.Phase.ID),
		attribute.String("rollwave.phase.name", a.Phase.Name),
	}
}
