package calendar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

// api is what the request/reply transport needs of the service.
type api interface {
	Add(ctx context.Context, in contracts.WindowInput) (contracts.Window, error)
	List(ctx context.Context, q contracts.WindowListQuery) (contracts.WindowList, error)
	Remove(ctx context.Context, r contracts.WindowRemove) (contracts.Window, error)
	Admit(ctx context.Context, q contracts.AdmitQuery) (contracts.Admission, error)
}

// handlers adapts the api to NATS subjects through go-kit endpoints, each
// wrapped in mw.
func handlers(a api, mw endpoint.Middleware) []natsx.Handler {
	return []natsx.Handler{
		{Subject: contracts.APICalendarAdd, Decode: natsx.DecodeJSON[contracts.WindowInput](), Endpoint: mw(natsx.Typed(a.Add))},
		{Subject: contracts.APICalendarList, Decode: natsx.DecodeJSON[contracts.WindowListQuery](), Endpoint: mw(natsx.Typed(a.List))},
		{Subject: contracts.APICalendarRemove, Decode: natsx.DecodeJSON[contracts.WindowRemove](), Endpoint: mw(natsx.Typed(a.Remove))},
		{Subject: contracts.APICalendarAdmit, Decode: natsx.DecodeJSONTolerant[contracts.AdmitQuery](), Endpoint: mw(natsx.Typed(a.Admit))},
	}
}

// maxIDAttempts bounds retries when a random id is already taken, which
// with 48 random bits practically never happens.
const maxIDAttempts = 5

// Add stores a new window.
func (s *Service) Add(ctx context.Context, in contracts.WindowInput) (contracts.Window, error) {
	w, err := windows.Parse(in, s.newID)
	if err != nil {
		return contracts.Window{}, err
	}
	for attempt := 1; ; attempt++ {
		err = s.store.insert(ctx, w)
		if !errors.Is(err, errDuplicateID) {
			break
		}
		if attempt == maxIDAttempts {
			return contracts.Window{}, fmt.Errorf("no free window id after %d attempts", maxIDAttempts)
		}
		w.ID = s.newID()
	}
	if err != nil {
		return contracts.Window{}, err
	}
	if err := s.refreshWindowCounts(ctx); err != nil {
		s.log.Warn("refresh window metrics", "err", err)
	}
	s.log.Info("window added", "window", w.ID, "environment", w.Environment, "kind", w.Kind,
		"start", w.Start, "end", w.End, "timezone", w.TimeZone, "created_by", w.CreatedBy, "reason", w.Reason)
	return w, nil
}

// List returns windows sorted by start.
func (s *Service) List(ctx context.Context, q contracts.WindowListQuery) (contracts.WindowList, error) {
	if q.Environment != "" {
		if err := contracts.CheckToken("environment", q.Environment); err != nil {
			return contracts.WindowList{}, err
		}
	}
	ws, err := s.store.list(ctx, q.Environment, q.ActiveAt)
	if err != nil {
		return contracts.WindowList{}, err
	}
	return contracts.WindowList{Windows: ws}, nil
}

// Remove deletes a window and returns it.
func (s *Service) Remove(ctx context.Context, r contracts.WindowRemove) (contracts.Window, error) {
	if r.ID == "" {
		return contracts.Window{}, contracts.Invalid("id", "is required")
	}
	w, err := s.store.remove(ctx, r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return contracts.Window{}, &contracts.Error{Code: contracts.CodeNotFound, Field: "id",
			Message: fmt.Sprintf("no window %q", clip(r.ID))}
	}
	if err != nil {
		return contracts.Window{}, err
	}
	if err := s.refreshWindowCounts(ctx); err != nil {
		s.log.Warn("refresh window metrics", "err", err)
	}
	s.log.Info("window removed", "window", w.ID, "environment", w.Environment)
	return w, nil
}

// Admit decides whether a rollout may start in the environment at q.At.
func (s *Service) Admit(ctx context.Context, q contracts.AdmitQuery) (contracts.Admission, error) {
	var fe contracts.FieldErrors
	if q.Environment == "" {
		fe.Add("environment", "is required")
	} else if !contracts.ValidToken(q.Environment) {
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", clip(q.Environment))
	}
	if q.At.IsZero() {
		fe.Add("at", "is required: the instant to decide for, from the caller's clock")
	}
	if err := fe.Err(); err != nil {
		return contracts.Admission{}, err
	}
	ctx, span := s.tracer.Start(ctx, "calendar.admit", trace.WithAttributes(
		attribute.String("rollwave.environment", q.Environment), attribute.String("rollwave.at", q.At.UTC().Format(time.RFC3339Nano))))
	defer span.End()
	// Windows already over at q.At can neither block nor extend a chain.
	ws, err := s.store.list(ctx, q.Environment, &q.At)
	if err != nil {
		span.RecordError(err)
		return contracts.Admission{}, err
	}
	a := windows.Admit(ws, q.Environment, q.At)
	s.metrics.admissions.WithLabelValues(strconv.FormatBool(a.Allowed)).Inc()
	span.SetAttributes(attribute.Bool("rollwave.allowed", a.Allowed))
	if !a.Allowed {
		span.SetAttributes(attribute.String("rollwave.window", a.Window.ID))
		s.log.Debug("admission refused", "environment", q.Environment, "at", q.At, "window", a.Window.ID, "until", *a.Until)
	}
	return a, nil
}

// clip shortens text echoed back in an error.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
