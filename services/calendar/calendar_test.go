package calendar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

type env struct {
	t   *testing.T
	nc  *nats.Conn
	js  jetstream.JetStream
	db  string
	reg *prometheus.Registry
	// clock is the calendar's clock of the last start.
	clock *clock.Fake
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	return &env{t: t, nc: nc, js: natstest.JetStream(t, nc), db: filepath.Join(t.TempDir(), "calendar.db")}
}

func (e *env) start(before ...func(*Service)) *Service {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	// The calendar's own clock stands somewhere else entirely: admission
	// must follow the instant in the query.
	fake := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e.clock = fake
	s, err := New(service.Deps{NC: e.nc, JS: e.js, Log: slog.New(slog.DiscardHandler), Metrics: e.reg, Clock: fake}, Config{DBPath: e.db})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range before {
		f(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { stop(e.t, s) })
	return s
}

func stop(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func request[Resp any](e *env, subject string, req any) (Resp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return natsx.Request[Resp](ctx, e.nc, subject, req)
}

func (e *env) add(in contracts.WindowInput) contracts.Window {
	e.t.Helper()
	w, err := request[contracts.Window](e, contracts.APICalendarAdd, in)
	if err != nil {
		e.t.Fatalf("add %+v: %v", in, err)
	}
	return w
}

func (e *env) admit(envName string, at time.Time) contracts.Admission {
	e.t.Helper()
	a, err := request[contracts.Admission](e, contracts.APICalendarAdmit, contracts.AdmitQuery{Environment: envName, At: at})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) list(q contracts.WindowListQuery) []string {
	e.t.Helper()
	l, err := request[contracts.WindowList](e, contracts.APICalendarList, q)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, w := range l.Windows {
		ids = append(ids, w.ID)
	}
	return ids
}

func wantCode(t *testing.T, err error, code contracts.Code, field string) {
	t.Helper()
	var ce *contracts.Error
	if !errors.As(err, &ce) || ce.Code != code || ce.Field != field {
		t.Fatalf("err = %#v, want %s on %q", err, code, field)
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if len(m.Label) == 1 && m.Label[0].GetValue() == label {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var idPattern = regexp.MustCompile(`^win-[0-9a-f]{12}$`)

func TestWindowsAddListRemove(t *testing.T) {
	e := newEnv(t)
	e.start()

	xmas := e.add(contracts.WindowInput{Environment: "production", Start: "2026-12-24", End: "2026-12-27",
		TimeZone: "Europe/Berlin", Reason: "holidays", CreatedBy: "alice"})
	if !idPattern.MatchString(xmas.ID) {
		t.Fatalf("id %q does not look like win-<12 hex>", xmas.ID)
	}
	if !xmas.Start.Equal(utc("2026-12-23T23:00:00Z")) || !xmas.End.Equal(utc("2026-12-26T23:00:00Z")) ||
		xmas.Kind != contracts.WindowFreeze || xmas.TimeZone != "Europe/Berlin" || xmas.Reason != "holidays" || xmas.CreatedBy != "alice" {
		t.Fatalf("window = %+v", xmas)
	}
	early := e.add(contracts.WindowInput{Environment: "production", Start: "2026-11-01T00:00:00Z", End: "2026-11-02T00:00:00Z"})
	qa := e.add(contracts.WindowInput{Environment: "qa", Start: "2026-12-01T00:00", End: "2026-12-02T00:00"})
	if early.ID == xmas.ID {
		t.Fatal("ids repeat")
	}

	if got := e.list(contracts.WindowListQuery{}); strings.Join(got, ",") != strings.Join([]string{early.ID, qa.ID, xmas.ID}, ",") {
		t.Fatalf("list = %v, want sorted by start", got)
	}
	if got := e.list(contracts.WindowListQuery{Environment: "production"}); strings.Join(got, ",") != early.ID+","+xmas.ID {
		t.Fatalf("list production = %v", got)
	}
	at := utc("2026-11-15T00:00:00Z")
	if got := e.list(contracts.WindowListQuery{ActiveAt: &at}); strings.Join(got, ",") != qa.ID+","+xmas.ID {
		t.Fatalf("list active = %v", got)
	}
	if got := e.list(contracts.WindowListQuery{Environment: "staging"}); len(got) != 0 {
		t.Fatalf("list staging = %v", got)
	}
	// An empty list is [] on the wire, not null.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := e.nc.RequestWithContext(ctx, contracts.APICalendarList, []byte(`{"environment":"staging"}`))
	if err != nil || !strings.Contains(string(raw.Data), `"windows":[]`) {
		t.Fatalf("empty list reply = %s, %v", raw.Data, err)
	}
	if metric(t, e.reg, "rollwave_calendar_windows", "production") != 2 || metric(t, e.reg, "rollwave_calendar_windows", "qa") != 1 {
		t.Fatal("windows gauge does not count the windows")
	}

	removed, err := request[contracts.Window](e, contracts.APICalendarRemove, contracts.WindowRemove{ID: qa.ID})
	if err != nil || removed.ID != qa.ID || removed.Environment != "qa" {
		t.Fatalf("remove = %+v, %v", removed, err)
	}
	_, err = request[contracts.Window](e, contracts.APICalendarRemove, contracts.WindowRemove{ID: qa.ID})
	wantCode(t, err, contracts.CodeNotFound, "id")
	_, err = request[contracts.Window](e, contracts.APICalendarRemove, contracts.WindowRemove{})
	wantCode(t, err, contracts.CodeInvalid, "id")
	if metric(t, e.reg, "rollwave_calendar_windows", "qa") != 0 {
		t.Fatal("windows gauge still counts a removed window")
	}
}

func TestAddRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	e.start()
	tests := []struct {
		name  string
		in    any
		field string
	}{
		{"no environment", contracts.WindowInput{Start: "2026-12-24", End: "2026-12-25"}, "environment"},
		{"bad zone", contracts.WindowInput{Environment: "qa", Start: "2026-12-24", End: "2026-12-25", TimeZone: "Nowhere/Town"}, "timezone"},
		{"bad start", contracts.WindowInput{Environment: "qa", Start: "Christmas", End: "2026-12-25"}, "start"},
		{"end before start", contracts.WindowInput{Environment: "qa", Start: "2026-12-24", End: "2026-12-23"}, "end"},
		{"unknown kind", contracts.WindowInput{Environment: "qa", Kind: "blackout", Start: "2026-12-24", End: "2026-12-25"}, "kind"},
		{"reservation without holder", contracts.WindowInput{Environment: "qa", Kind: "reservation", Start: "2026-12-24", End: "2026-12-25"}, "team"},
		{"unknown field", map[string]string{"environment": "qa", "start": "2026-12-24", "end": "2026-12-25", "zone": "UTC"}, "zone"},
		{"wrong type", map[string]any{"environment": 3}, "environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := request[contracts.Window](e, contracts.APICalendarAdd, tt.in)
			wantCode(t, err, contracts.CodeInvalid, tt.field)
		})
	}
	if got := e.list(contracts.WindowListQuery{}); len(got) != 0 {
		t.Fatalf("invalid windows were stored: %v", got)
	}
	_, err := request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{Environment: "a b"})
	wantCode(t, err, contracts.CodeInvalid, "environment")
}

func TestAdmitUsesTheQueryInstant(t *testing.T) {
	e := newEnv(t)
	e.start()
	a := e.add(contracts.WindowInput{Environment: "production", Start: "2026-12-24T00:00:00Z", End: "2026-12-25T00:00:00Z", Reason: "eve"})
	b := e.add(contracts.WindowInput{Environment: "production", Start: "2026-12-25T00:00:00Z", End: "2026-12-26T00:00:00Z"})
	e.add(contracts.WindowInput{Environment: "production", Start: "2026-12-31T00:00:00Z", End: "2027-01-01T00:00:00Z"})

	got := e.admit("production", utc("2026-12-24T10:00:00Z"))
	if got.Allowed || got.Window == nil || got.Window.ID != a.ID || got.Window.Reason != "eve" || got.Until == nil || !got.Until.Equal(b.End) {
		t.Fatalf("admission in the freeze = %+v", got)
	}
	if got := e.admit("production", utc("2026-12-26T00:00:00Z")); !got.Allowed || got.Window != nil ||
		got.Until == nil || !got.Until.Equal(utc("2026-12-31T00:00:00Z")) {
		t.Fatalf("admission at the end of the chain = %+v", got)
	}
	if got := e.admit("production", utc("2026-12-23T23:59:59Z")); !got.Allowed {
		t.Fatalf("admission before = %+v", got)
	}
	if got := e.admit("qa", utc("2026-12-24T10:00:00Z")); !got.Allowed {
		t.Fatalf("admission in another environment = %+v", got)
	}
	_, err := request[contracts.Admission](e, contracts.APICalendarAdmit, contracts.AdmitQuery{Environment: "production"})
	wantCode(t, err, contracts.CodeInvalid, "at")
	_, err = request[contracts.Admission](e, contracts.APICalendarAdmit, contracts.AdmitQuery{At: time.Now()})
	wantCode(t, err, contracts.CodeInvalid, "environment")
	if metric(t, e.reg, "rollwave_calendar_admissions_total", "false") != 1 || metric(t, e.reg, "rollwave_calendar_admissions_total", "true") != 3 {
		t.Fatal("admissions counter is off")
	}
}

func TestWindowsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	w := e.add(contracts.WindowInput{Environment: "production", Start: "2026-10-25T02:30", End: "2026-10-25T02:30",
		TimeZone: "Europe/Berlin", Reason: "repeated hour"})
	stop(t, s)
	_, err := request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{})
	var ce *contracts.Error
	if !errors.As(err, &ce) || (ce.Code != contracts.CodeUnavailable && ce.Code != contracts.CodeTimeout) {
		t.Fatalf("list while stopped: %v", err)
	}

	e.start()
	l, err := request[contracts.WindowList](e, contracts.APICalendarList, contracts.WindowListQuery{})
	if err != nil || len(l.Windows) != 1 {
		t.Fatalf("list after restart = %+v, %v", l, err)
	}
	if got := l.Windows[0]; !reflect.DeepEqual(got, w) {
		t.Fatalf("window after restart = %+v, want %+v", got, w)
	}
	if metric(t, e.reg, "rollwave_calendar_windows", "production") != 1 {
		t.Fatal("windows gauge not restored on start")
	}
	if got := e.admit("production", utc("2026-10-25T01:00:00Z")); got.Allowed {
		t.Fatalf("admission in the repeated hour = %+v", got)
	}
}

func TestConcurrentAddsGetDistinctIDs(t *testing.T) {
	e := newEnv(t)
	e.start()
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := request[contracts.Window](e, contracts.APICalendarAdd, contracts.WindowInput{
				Environment: "qa", Start: fmt.Sprintf("2026-01-%02dT00:00", i+1), End: fmt.Sprintf("2026-01-%02dT12:00", i+1)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[w.ID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 20 || len(e.list(contracts.WindowListQuery{Environment: "qa"})) != 20 {
		t.Fatalf("%d distinct ids", len(ids))
	}
}

func TestDuplicateIDIsRetried(t *testing.T) {
	e := newEnv(t)
	ids := []string{"win-000000000001", "win-000000000001", "win-000000000002"}
	var mu sync.Mutex
	e.start(func(s *Service) {
		s.newID = func() string {
			mu.Lock()
			defer mu.Unlock()
			id := ids[0]
			ids = ids[1:]
			return id
		}
	})
	first := e.add(contracts.WindowInput{Environment: "qa", Start: "2026-01-01", End: "2026-01-02"})
	second := e.add(contracts.WindowInput{Environment: "qa", Start: "2026-01-03", End: "2026-01-04"})
	if first.ID != "win-000000000001" || second.ID != "win-000000000002" {
		t.Fatalf("ids %s, %s", first.ID, second.ID)
	}
}

func TestNewChecksConfig(t *testing.T) {
	e := newEnv(t)
	if _, err := New(service.Deps{NC: e.nc, JS: e.js}, Config{}); err == nil || !strings.Contains(err.Error(), "DBPath is required") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(service.Deps{JS: e.js}, Config{DBPath: e.db}); err == nil {
		t.Fatal("New accepted deps without a connection")
	}
	s, err := New(service.Deps{NC: e.nc, JS: e.js}, Config{DBPath: e.db})
	if err != nil || s.Name() != "calendar" {
		t.Fatalf("New = %v", err)
	}
}
