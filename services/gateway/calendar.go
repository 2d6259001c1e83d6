package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// calendarAPI is what the calendar routes need beyond windows.
type calendarAPI interface {
	CalendarFeed(ctx context.Context, q contracts.CalendarExport) (contracts.CalendarFeed, error)
	CalendarImport(ctx context.Context, in contracts.CalendarImport) (contracts.WindowList, error)
	CalendarSlot(ctx context.Context, q contracts.SlotQuery) (contracts.Slot, error)
}

type calendarEndpoints struct {
	CalendarFeed   endpoint.Endpoint
	CalendarImport endpoint.Endpoint
	CalendarSlot   endpoint.Endpoint
}

func makeCalendarEndpoints(api calendarAPI, wrap func(string, endpoint.Endpoint) endpoint.Endpoint) calendarEndpoints {
	return calendarEndpoints{
		CalendarFeed: wrap("calendar_feed", func(ctx context.Context, req any) (any, error) {
			return api.CalendarFeed(ctx, req.(contracts.CalendarExport))
		}),
		CalendarImport: wrap("calendar_import", func(ctx context.Context, req any) (any, error) {
			return api.CalendarImport(ctx, req.(contracts.CalendarImport))
		}),
		CalendarSlot: wrap("calendar_slot", func(ctx context.Context, req any) (any, error) {
			return api.CalendarSlot(ctx, req.(contracts.SlotQuery))
		}),
	}
}

func (a *natsAPI) CalendarFeed(ctx context.Context, q contracts.CalendarExport) (contracts.CalendarFeed, error) {
	return natsx.Request[contracts.CalendarFeed](ctx, a.nc, contracts.APICalendarExport, q)
}

func (a *natsAPI) CalendarImport(ctx context.Context, in contracts.CalendarImport) (contracts.WindowList, error) {
	return natsx.Request[contracts.WindowList](ctx, a.nc, contracts.APICalendarImport, in)
}

func (a *natsAPI) CalendarSlot(ctx context.Context, q contracts.SlotQuery) (contracts.Slot, error) {
	return natsx.Request[contracts.Slot](ctx, a.nc, contracts.APICalendarSlot, q)
}

// onlyParams refuses query parameters other than the allowed ones, and
// repeated ones, so each can be read with Get.
func onlyParams(r *http.Request, allowed ...string) error {
	for name, vals := range r.URL.Query() {
		if name == "" {
			return contracts.Invalid("query", "has a parameter without a name")
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			return contracts.Invalid(name, "is not a known query parameter; known: %s", strings.Join(allowed, ", "))
		}
		if len(vals) > 1 {
			return contracts.Invalid(name, "is given %d times; give it once", len(vals))
		}
	}
	return nil
}

func envParam(r *http.Request) (string, error) {
	env := r.URL.Query().Get("env")
	if env != "" {
		if err := contracts.CheckToken("env", env); err != nil {
			return "", err
		}
	}
	return env, nil
}

// decodeCalendarFeed reads GET /v1/calendar.ics?env=: the feed that
// calendar applications subscribe to.
func decodeCalendarFeed(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := onlyParams(r, "env"); err != nil {
		return nil, err
	}
	env, err := envParam(r)
	return contracts.CalendarExport{Environment: env}, err
}

func encodeICS(w http.ResponseWriter, resp any) {
	f := resp.(contracts.CalendarFeed)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(f.ICS))
}

func decodeCalendarImport(w http.ResponseWriter, r *http.Request) (any, error) {
	in, err := strictBody[contracts.CalendarImport](w, r, "")
	if err != nil {
		return nil, err
	}
	return in, nil
}

// decodeCalendarSlot reads GET /v1/calendar/slot?env=&after=&duration=&team=.
func decodeCalendarSlot(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := onlyParams(r, "env", "after", "duration", "team"); err != nil {
		return nil, err
	}
	v := r.URL.Query()
	env, err := envParam(r)
	if err != nil {
		return nil, err
	}
	if env == "" {
		return nil, contracts.Invalid("env", "is required")
	}
	q := contracts.SlotQuery{Environment: env, Team: v.Get("team")}
	after, err := time.Parse(time.RFC3339, v.Get("after"))
	if err != nil {
		return nil, contracts.Invalid("after", "must be an RFC 3339 instant, got %q", v.Get("after"))
	}
	q.After = after
	d, err := time.ParseDuration(v.Get("duration"))
	if err != nil {
		return nil, contracts.Invalid("duration", "must be a duration such as \"2h\", got %q", v.Get("duration"))
	}
	q.Duration = contracts.Duration(d)
	return q, nil
}

// decodeWindowQuery reads GET /v1/calendar/windows?environment=&from=&to=;
// from and to (RFC 3339) expand occurrences.
func decodeWindowQuery(r *http.Request) (contracts.WindowListQuery, error) {
	if err := onlyParams(r, "environment", "from", "to"); err != nil {
		return contracts.WindowListQuery{}, err
	}
	v := r.URL.Query()
	q := contracts.WindowListQuery{Environment: v.Get("environment")}
	if q.Environment != "" {
		if err := contracts.CheckToken("environment", q.Environment); err != nil {
			return q, err
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return q, contracts.Invalid(p.name, "must be an RFC 3339 instant such as 2026-12-01T00:00:00Z, got %q", s)
		}
		*p.dst = &t
	}
	return q, nil
}
