// Package check runs the automatic verifications of a host action.
package check

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

// Defaults of an HTTP check.
const (
	DefaultStatus      = http.StatusOK
	DefaultConsecutive = 1
	DefaultInterval    = time.Second
	DefaultTimeout     = 2 * time.Second
	DefaultDeadline    = 60 * time.Second
)

// maxBody bounds how much of a response is read before it is dropped, so
// the connection can be reused without trusting the server's size.
const maxBody = 64 << 10

// HTTP polls URLs. Waits between tries and the check's deadline follow
// Clock; each try is bounded by the spec's Timeout.
type HTTP struct {
	Client *http.Client
	Clock  clock.Clock
}

// HTTPSettings is an HTTPCheck with its defaults applied.
type HTTPSettings struct {
	Status      int
	Consecutive int
	Interval    time.Duration
	Timeout     time.Duration
	Deadline    time.Duration
}

// Settings applies the defaults to spec and checks the values, naming the
// field at fault under prefix (such as "checks[0].spec.http").
func Settings(prefix string, spec contracts.HTTPCheck) (HTTPSettings, error) {
	s := HTTPSettings{Status: spec.Status, Consecutive: spec.Consecutive, Interval: spec.Interval.D(),
		Timeout: spec.Timeout.D(), Deadline: spec.Deadline.D()}
	var fe contracts.FieldErrors
	if s.Status == 0 {
		s.Status = DefaultStatus
	} else if s.Status < 100 || s.Status > 599 {
		fe.Add(prefix+".status", "must be an HTTP status between 100 and 599, got %d", s.Status)
	}
	if s.Consecutive == 0 {
		s.Consecutive = DefaultConsecutive
	} else if s.Consecutive < 0 {
		fe.Add(prefix+".consecutive", "must be at least 1, got %d", s.Consecutive)
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{{"interval", &s.Interval, DefaultInterval}, {"timeout", &s.Timeout, DefaultTimeout}, {"deadline", &s.Deadline, DefaultDeadline}} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			fe.Add(prefix+"."+d.field, "must not be negative, got %v", *d.v)
		}
	}
	return s, fe.Err()
}

// Run polls rawURL until it answers with the expected status Consecutive
// times in a row or the deadline passes. It never returns an error: the
// outcome, with the last problem seen, is in the result.
func (h HTTP) Run(ctx context.Context, name, rawURL string, s HTTPSettings) contracts.CheckResult {
	start := h.Clock.Now()
	res := contracts.CheckResult{Name: name, Status: contracts.ResultFailed}
	finish := func(status contracts.ResultStatus, errText string) contracts.CheckResult {
		res.Status, res.Error = status, errText
		res.Duration = contracts.Duration(h.Clock.Now().Sub(start))
		return res
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return finish(contracts.ResultFailed, fmt.Sprintf("url %q is not an http or https URL", rawURL))
	}
	deadline := start.Add(s.Deadline)
	inRow := 0
	var last string
	for {
		res.Attempts++
		status, err := h.try(ctx, u.String(), s.Timeout)
		switch {
		case err != nil:
			inRow, last = 0, err.Error()
		case status != s.Status:
			inRow, last = 0, fmt.Sprintf("status %d, want %d", status, s.Status)
		default:
			inRow++
			if inRow >= s.Consecutive {
				return finish(contracts.ResultSucceeded, "")
			}
		}
		if ctx.Err() != nil {
			return finish(contracts.ResultFailed, fmt.Sprintf("interrupted after %d attempts: %v", res.Attempts, ctx.Err()))
		}
		if h.Clock.Now().Add(s.Interval).After(deadline) {
			if last == "" {
				last = fmt.Sprintf("only %d of %d successes in a row", inRow, s.Consecutive)
			}
			return finish(contracts.ResultFailed, fmt.Sprintf("deadline %v passed after %d attempts; last: %s", s.Deadline, res.Attempts, last))
		}
		select {
		case <-h.Clock.After(s.Interval):
		case <-ctx.Done():
			return finish(contracts.ResultFailed, fmt.Sprintf("interrupted after %d attempts: %v", res.Attempts, ctx.Err()))
		}
	}
}

func (h HTTP) try(ctx context.Context, u string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no answer within %v", timeout)
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
