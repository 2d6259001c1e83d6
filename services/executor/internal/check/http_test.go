package check

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// stepClock is virtual time: every wait returns at once and moves the
// clock forward by what was waited, so a check's schedule and deadline are
// exact and the test takes no time.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// scripted answers with the statuses in order, then repeats the last;
// status 0 means do not answer until the client gives up.
func scripted(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		st := statuses[min(i, len(statuses)-1)]
		if st == 0 {
			<-r.Context().Done()
			return
		}
		if st == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", st)
			return
		}
		w.WriteHeader(st)
		_, _ = w.Write([]byte(strings.Repeat("body", 1000)))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestHTTPCheck(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		spec         contracts.HTTPCheck
		wantStatus   contracts.ResultStatus
		wantAttempts int
		wantErr      string
		wantDuration time.Duration
	}{
		{name: "ok at once", statuses: []int{200}, wantStatus: contracts.ResultSucceeded, wantAttempts: 1},
		{name: "fails 3 times then succeeds", statuses: []int{503, 503, 503, 200}, wantStatus: contracts.ResultSucceeded,
			wantAttempts: 4, wantDuration: 3 * time.Second},
		{name: "consecutive successes", statuses: []int{500, 500, 200}, spec: contracts.HTTPCheck{Consecutive: 3},
			wantStatus: contracts.ResultSucceeded, wantAttempts: 5},
		{name: "a failure resets the run", statuses: []int{200, 500, 200, 200}, spec: contracts.HTTPCheck{Consecutive: 2},
			wantStatus: contracts.ResultSucceeded, wantAttempts: 4},
		{name: "other expected status", statuses: []int{200, 204}, spec: contracts.HTTPCheck{Status: 204},
			wantStatus: contracts.ResultSucceeded, wantAttempts: 2},
		{name: "deadline", statuses: []int{500},
			spec:       contracts.HTTPCheck{Interval: contracts.Duration(time.Second), Deadline: contracts.Duration(10 * time.Second)},
			wantStatus: contracts.ResultFailed, wantAttempts: 11, wantErr: "deadline 10s passed after 11 attempts; last: status 500, want 200",
			wantDuration: 10 * time.Second},
		{name: "deadline before enough in a row", statuses: []int{200},
			spec:       contracts.HTTPCheck{Consecutive: 5, Interval: contracts.Duration(time.Second), Deadline: contracts.Duration(2 * time.Second)},
			wantStatus: contracts.ResultFailed, wantAttempts: 3, wantErr: "only 3 of 5 successes in a row"},
		{name: "try timeout", statuses: []int{0, 200}, spec: contracts.HTTPCheck{Timeout: contracts.Duration(50 * time.Millisecond)},
			wantStatus: contracts.ResultSucceeded, wantAttempts: 2},
		{name: "try timeout reported", statuses: []int{0},
			spec:       contracts.HTTPCheck{Timeout: contracts.Duration(20 * time.Millisecond), Deadline: contracts.Duration(time.Second)},
			wantStatus: contracts.ResultFailed, wantAttempts: 2, wantErr: "no answer within 20ms"},
		{name: "redirect is not followed", statuses: []int{302}, spec: contracts.HTTPCheck{Status: 302},
			wantStatus: contracts.ResultSucceeded, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := scripted(t, tt.statuses...)
			clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			settings, err := Settings("http", tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			h := HTTP{Clock: clk, Client: &http.Client{
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			res := h.Run(context.Background(), "healthz", srv.URL+"/healthz", settings)
			if res.Status != tt.wantStatus || res.Attempts != tt.wantAttempts || res.Name != "healthz" {
				t.Fatalf("result = %+v, want status %s after %d attempts", res, tt.wantStatus, tt.wantAttempts)
			}
			if int(hits.Load()) != tt.wantAttempts {
				t.Fatalf("server saw %d requests, want %d", hits.Load(), tt.wantAttempts)
			}
			if !strings.Contains(res.Error, tt.wantErr) || (tt.wantErr == "" && res.Error != "") {
				t.Fatalf("error = %q, want %q", res.Error, tt.wantErr)
			}
			if tt.wantDuration != 0 && res.Duration.D() != tt.wantDuration {
				t.Fatalf("duration = %v, want %v", res.Duration.D(), tt.wantDuration)
			}
		})
	}
}

func TestHTTPCheckBadTargets(t *testing.T) {
	srv, _ := scripted(t, 200)
	srv.Close()
	clk := &stepClock{}
	settings, _ := Settings("http", contracts.HTTPCheck{Deadline: contracts.Duration(2 * time.Second)})
	h := HTTP{Clock: clk}
	for url, want := range map[string]string{
		"ftp://example.com/x": "not an http or https URL",
		"http://":             "not an http or https URL",
		"::nope":              "not an http or https URL",
		srv.URL:               "connection refused",
	} {
		res := h.Run(context.Background(), "c", url, settings)
		if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, want) {
			t.Errorf("%s: %+v, want failure %q", url, res, want)
		}
	}
}

func TestHTTPCheckCancelled(t *testing.T) {
	srv, _ := scripted(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	settings, _ := Settings("http", contracts.HTTPCheck{})
	res := HTTP{Clock: &stepClock{}}.Run(ctx, "c", srv.URL, settings)
	if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "interrupted") {
		t.Fatalf("result = %+v", res)
	}
}

func TestSettings(t *testing.T) {
	s, err := Settings("checks[0].spec.http", contracts.HTTPCheck{})
	want := HTTPSettings{Status: 200, Polling: Polling{Consecutive: 1, Interval: time.Second, Timeout: 2 * time.Second, Deadline: time.Minute}}
	if err != nil || s != want {
		t.Fatalf("defaults = %+v, %v", s, err)
	}
	_, err = Settings("checks[0].spec.http", contracts.HTTPCheck{Status: 999, Consecutive: -1, Interval: -1})
	for _, field := range []string{"checks[0].spec.http.status", "checks[0].spec.http.consecutive", "checks[0].spec.http.interval"} {
		if err == nil || !strings.Contains(errorsText(err), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func errorsText(err error) string {
	if fe, ok := err.(contracts.FieldErrors); ok {
		var parts []string
		for _, f := range fe {
			parts = append(parts, f.String())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}
