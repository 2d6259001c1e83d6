package calendar

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	Slot(ctx context.Context, q contracts.SlotQuery) (contracts.Slot, error)
	Import(ctx context.Context, in contracts.CalendarImport) (contracts.WindowList, error)
	Export(ctx context.Context, q contracts.CalendarExport) (contracts.CalendarFeed, error)
}

// handlers adapts the api to NATS subjects through go-kit endpoints, each
// wrapped in mw.
func handlers(a api, mw endpoint.Middleware) []natsx.Handler {
	return []natsx.Handler{
		{Subject: contracts.APICalendarAdd, Decode: natsx.DecodeJSON[contracts.WindowInput](), Endpoint: mw(natsx.Typed(a.Add))},
		{Subject: contracts.APICalendarList, Decode: natsx.DecodeJSON[contracts.WindowListQuery](), Endpoint: mw(natsx.Typed(a.List))},
		{Subject: contracts.APICalendarRemove, Decode: natsx.DecodeJSON[contracts.WindowRemove](), Endpoint: mw(natsx.Typed(a.Remove))},
		{Subject: contracts.APICalendarAdmit, Decode: natsx.DecodeJSONTolerant[contracts.AdmitQuery](), Endpoint: mw(natsx.Typed(a.Admit))},
		{Subject: contracts.APICalendarSlot, Decode: natsx.DecodeJSON[contracts.SlotQuery](), Endpoint: mw(natsx.Typed(a.Slot))},
		{Subject: contracts.APICalendarImport, Decode: natsx.DecodeJSON[contracts.CalendarImport](), Endpoint: mw(natsx.Typed(a.Import))},
		{Subject: contracts.APICalendarExport, Decode: natsx.DecodeJSON[contracts.CalendarExport](), Endpoint: mw(natsx.Typed(a.Export))},
	}
}

// maxIDAttempts bounds retries when a random id is already taken, which
// with 48 random bits practically never happens.
const maxIDAttempts = 5

// Add stores a new window. A reservation overlapping others is refused,
// naming them, unless forced with a reason.
func (s *Service) Add(ctx context.Context, in contracts.WindowInput) (contracts.Window, error) {
	w, err := windows.Parse(in, s.newID)
	if err != nil {
		return contracts.Window{}, err
	}
	// Checking for conflicts and inserting is one step, or two adds
	// could each miss the other.
	s.addMu.Lock()
	defer s.addMu.Unlock()
	if w.Kind == contracts.WindowReservation {
		all, err := s.store.list(ctx, "", &w.Start)
		if err != nil {
			return contracts.Window{}, err
		}
		if c := windows.Conflicts(all, w, w.Start); len(c) > 0 {
			if !in.Force {
				return contracts.Window{}, conflictError(c)
			}
			s.log.Warn("reservation forced over conflicting ones", "window", w.ID, "conflicts", ids(c),
				"force_reason", w.ForceReason, "created_by", w.CreatedBy)
		}
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
	s.publishWindow(ctx, w)
	s.notifyChanged()
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
	if (q.From == nil) != (q.To == nil) {
		return contracts.WindowList{}, contracts.Invalid("to", "from and to go together: give both or neither")
	}
	if q.From != nil && (!q.To.After(*q.From) || q.To.Sub(*q.From) > windows.Horizon) {
		return contracts.WindowList{}, contracts.Invalid("to", "must be after from and at most %s later", windows.Horizon)
	}
	ws, err := s.store.list(ctx, q.Environment, q.ActiveAt)
	if err != nil {
		return contracts.WindowList{}, err
	}
	out := contracts.WindowList{Windows: ws}
	if q.From != nil {
		out.Occurrences = []contracts.Occurrence{}
		for _, w := range ws {
			out.Occurrences = append(out.Occurrences, windows.Occurrences(w, *q.From, *q.To)...)
		}
		slices.SortStableFunc(out.Occurrences, func(a, b contracts.Occurrence) int {
			return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.WindowID, b.WindowID))
		})
	}
	return out, nil
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
	s.unpublishWindow(ctx, w.ID)
	s.notifyChanged()
	s.log.Info("window removed", "window", w.ID, "environment", w.Environment)
	return w, nil
}

// conflictError lists the reservations a new one overlaps.
func conflictError(c []contracts.Window) error {
	parts := make([]string, 0, len(c))
	for _, w := range c {
		holder := "team " + w.Team
		if w.Label != "" {
			holder = "label " + w.Label
		}
		envs := strings.Join(windows.Environments(w), ",")
		p := fmt.Sprintf("%s (%s, %s, from %s", w.ID, holder, envs, w.Start.Format(time.RFC3339))
		if w.RRule != "" {
			p += ", " + w.RRule
		}
		parts = append(parts, p+")")
	}
	return &contracts.Error{Code: contracts.CodeConflict, Field: "start",
		Message: "overlaps reservations " + strings.Join(parts, "; ") + "; set force with a force_reason to add it anyway"}
}

func ids(ws []contracts.Window) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// checkRollout checks the fields every question about a rollout carries.
func checkRollout(fe *contracts.FieldErrors, env string, at time.Time, atField, team string) {
	if env == "" {
		fe.Add("environment", "is required")
	} else if !contracts.ValidToken(env) {
		fe.Add("environment", "must be 1-128 letters, digits, '-' or '_', starting with a letter or digit, got %q", clip(env))
	}
	if at.IsZero() {
		fe.Add(atField, "is required: the instant to decide for, from the caller's clock")
	}
	if team != "" && !contracts.ValidToken(team) {
		fe.Add("team", "must be 1-128 letters, digits, '-' or '_', got %q", clip(team))
	}
}

// Slot finds the next span of q.Duration in which the environment is open
// for the rollout.
func (s *Service) Slot(ctx context.Context, q contracts.SlotQuery) (contracts.Slot, error) {
	var fe contracts.FieldErrors
	checkRollout(&fe, q.Environment, q.After, "after", q.Team)
	if q.Duration.D() <= 0 || q.Duration.D() > windows.Horizon {
		fe.Add("duration", "must be positive and at most %s, got %s", windows.Horizon, q.Duration.D())
	}
	if err := fe.Err(); err != nil {
		return contracts.Slot{}, err
	}
	ws, err := s.store.list(ctx, q.Environment, &q.After)
	if err != nil {
		return contracts.Slot{}, err
	}
	return windows.NextSlot(ws, windows.Query{Environment: q.Environment, At: q.After, Team: q.Team, Labels: q.Labels}, q.Duration.D()), nil
}

// Admit decides whether a rollout may start in the environment at q.At.
func (s *Service) Admit(ctx context.Context, q contracts.AdmitQuery) (contracts.Admission, error) {
	var fe contracts.FieldErrors
	checkRollout(&fe, q.Environment, q.At, "at", q.Team)
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
	a := windows.Decide(ws, windows.Query{Environment: q.Environment, At: q.At, Team: q.Team, Labels: q.Labels})
	s.metrics.admissions.WithLabelValues(strconv.FormatBool(a.Allowed)).Inc()
	span.SetAttributes(attribute.Bool("rollwave.allowed", a.Allowed))
	if !a.Allowed {
		var id string
		if a.Window != nil {
			id = a.Window.ID
		}
		span.SetAttributes(attribute.String("rollwave.window", id))
		s.log.Debug("admission refused", "environment", q.Environment, "at", q.At, "window", id, "until", a.Until, "reason", a.Reason)
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
