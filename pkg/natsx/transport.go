package natsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/rollwave/rollwave/contracts"
)

// DefaultRequestTimeout bounds a request whose context has no deadline.
const DefaultRequestTimeout = 5 * time.Second

// Handler serves one request/reply subject with a go-kit endpoint. go-kit's
// own NATS transport drops message headers, so it cannot carry trace
// context; this one extracts it before calling the endpoint.
type Handler struct {
	Subject string
	// Decode turns the request body into the endpoint's request value.
	Decode func([]byte) (any, error)
	// Endpoint does the work; its error is sent back as a typed error.
	Endpoint endpoint.Endpoint
}

// DecodeJSONTolerant returns a Decode function for queries that other
// services send (targets, admission, rollout and inventory queries): like
// DecodeJSON, but unknown fields are skipped, so a newer caller's optional
// field does not fail its query during an upgrade.
func DecodeJSONTolerant[T any]() func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		var v T
		if len(b) == 0 {
			return v, nil
		}
		if err := contracts.DecodeTolerant(b, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// DecodeJSON returns a Decode function for requests of type T, rejecting
// unknown fields and naming the field of a type error.
func DecodeJSON[T any]() func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		var v T
		if len(b) == 0 {
			return v, nil
		}
		if err := contracts.DecodeStrict(b, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// Server subscribes handlers in a queue group, so that several instances of
// a service share the load.
type Server struct {
	nc *nats.Conn
	// slots bounds the requests served at once; each runs in its own
	// goroutine so one slow request does not hold up the others.
	slots   chan struct{}
	wg      sync.WaitGroup
	queue   string
	tracer  trace.Tracer
	log     *slog.Logger
	timeout time.Duration
	subs    []*nats.Subscription
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithTracer traces each request as a server span.
func WithTracer(tp trace.TracerProvider) ServerOption {
	return func(s *Server) { s.tracer = tp.Tracer("rollwave/natsx") }
}

// WithLogger logs failed requests.
func WithLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.log = l } }

// NewServer returns a server for the queue group.
func NewServer(nc *nats.Conn, queue string, opts ...ServerOption) *Server {
	s := &Server{nc: nc, queue: queue, slots: make(chan struct{}, 64), tracer: noop.NewTracerProvider().Tracer(""), log: slog.New(slog.DiscardHandler), timeout: 30 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Handle subscribes h.
func (s *Server) Handle(h Handler) error {
	sub, err := s.nc.QueueSubscribe(h.Subject, s.queue, func(m *nats.Msg) {
		s.slots <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer func() { <-s.slots; s.wg.Done() }()
			s.serve(h, m)
		}()
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", h.Subject, err)
	}
	s.subs = append(s.subs, sub)
	// The server must know the subscription before Handle returns, or a
	// request sent right after a service starts finds nobody listening.
	if err := s.nc.Flush(); err != nil {
		return fmt.Errorf("subscribe %s: %w", h.Subject, err)
	}
	return nil
}

// Close drains the subscriptions and waits for requests in flight.
func (s *Server) Close() {
	for _, sub := range s.subs {
		_ = sub.Drain()
	}
	// Drain finishes in the background; wait (boundedly) until no more
	// requests can be dispatched, then for those dispatched.
	deadline := time.Now().Add(s.timeout)
	for _, sub := range s.subs {
		for sub.IsValid() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.wg.Wait()
}

func (s *Server) serve(h Handler, m *nats.Msg) {
	ctx, cancel := context.WithTimeout(ExtractTrace(context.Background(), m.Header), s.timeout)
	defer cancel()
	ctx, span := s.tracer.Start(ctx, h.Subject, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", h.Subject)))
	defer span.End()

	var reply struct {
		Data  any              `json:"data,omitempty"`
		Error *contracts.Error `json:"error,omitempty"`
	}
	req, err := h.Decode(m.Data)
	if err == nil {
		reply.Data, err = h.Endpoint(ctx, req)
	}
	if err != nil {
		reply.Data = nil
		reply.Error = contracts.AsError(err)
		span.SetStatus(codes.Error, reply.Error.Message)
		if reply.Error.Code == contracts.CodeInternal {
			s.log.Error("request failed", "subject", h.Subject, "err", err)
		}
	}
	body, err := json.Marshal(reply)
	if err != nil {
		s.log.Error("encode reply", "subject", h.Subject, "err", err)
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	if m.Reply == "" {
		return
	}
	if limit := s.nc.MaxPayload(); limit > 0 && int64(len(body)) > limit {
		// The broker would refuse the reply and the caller would wait
		// for its time-out: say why instead.
		s.log.Warn("reply above max_payload", "subject", h.Subject, "bytes", len(body), "max_payload", limit)
		body, _ = json.Marshal(map[string]*contracts.Error{"error": contracts.Errorf(contracts.CodeInvalid,
			"the answer is %d bytes, above the NATS server's max_payload of %d bytes", len(body), limit)})
	}
	if err := m.Respond(body); err != nil {
		s.log.Warn("send reply", "subject", h.Subject, "err", err)
	}
}

// Request sends req as JSON to subject and decodes the reply into Resp. A
// typed error in the reply is returned as *contracts.Error; no responders
// and time-outs become unavailable and timeout errors.
func Request[Resp any](ctx context.Context, nc *nats.Conn, subject string, req any) (Resp, error) {
	var zero Resp
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return zero, fmt.Errorf("encode request for %s: %w", subject, err)
	}
	m := NewMsg(ctx, subject, "", body)
	resp, err := nc.RequestMsgWithContext(ctx, m)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return zero, contracts.Errorf(contracts.CodeUnavailable, "nobody answers on %s", subject)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return zero, contracts.Errorf(contracts.CodeTimeout, "no answer on %s in time", subject)
	case err != nil:
		return zero, fmt.Errorf("request %s: %w", subject, err)
	}
	var reply contracts.Reply[Resp]
	if err := json.Unmarshal(resp.Data, &reply); err != nil {
		return zero, fmt.Errorf("decode reply from %s: %w", subject, err)
	}
	if reply.Error != nil {
		return zero, reply.Error
	}
	if reply.Data == nil {
		return zero, nil
	}
	return *reply.Data, nil
}
