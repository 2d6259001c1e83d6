package natsx

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/rollwave/rollwave/contracts"
)

var errNoResponders = nats.ErrNoResponders

// HeaderCarrier adapts nats.Header to OpenTelemetry propagation without
// changing the case of keys: nats.Header is case-sensitive, and non-Go peers
// look for "traceparent" exactly.
type HeaderCarrier nats.Header

func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// propagator carries W3C trace context and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// InjectTrace writes the trace context of ctx into the message headers.
func InjectTrace(ctx context.Context, m *nats.Msg) {
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	propagator.Inject(ctx, HeaderCarrier(m.Header))
}

// ExtractTrace returns ctx carrying the trace context of the message.
func ExtractTrace(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return propagator.Extract(ctx, HeaderCarrier(h))
}

// NewMsg builds a message with headers, the trace context of ctx and, when
// msgID is set, a Nats-Msg-Id for JetStream de-duplication.
func NewMsg(ctx context.Context, subject, msgID string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	InjectTrace(ctx, m)
	return m
}

// EnvelopeMsg wraps data in an envelope and builds the message for it. The
// envelope id doubles as the Nats-Msg-Id.
func EnvelopeMsg(ctx context.Context, subject, typ, id, source, about string, at time.Time, data any) (*nats.Msg, error) {
	b, err := contracts.Marshal(typ, id, source, about, at, data)
	if err != nil {
		return nil, err
	}
	return NewMsg(ctx, subject, id, b), nil
}
