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

// Defaults of an HTTP check; tcp shares them.
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
	Status int
	Polling
}

// Settings applies the defaults to spec and checks the values, naming the
// field at fault under prefix (such as "checks[0].spec.http").
func Settings(prefix string, spec contracts.HTTPCheck) (HTTPSettings, error) {
	s := HTTPSettings{Status: spec.Status}
	var fe contracts.FieldErrors
	if s.Status == 0 {
		s.Status = DefaultStatus
	} else if s.Status < 100 || s.Status > 599 {
		fe.Add(prefix+".status", "must be an HTTP status between 100 and 599, got %d", s.Status)
	}
	p, err := PollingOf(prefix, spec.Consecutive, spec.Interval, spec.Timeout, spec.Deadline,
		PollingDefaults{Timeout: DefaultTimeout, Deadline: DefaultDeadline})
	fe = append(fe, contracts.AsFieldErrors(err)...)
	s.Polling = p
	return s, fe.Err()
}

// Run polls rawURL until it answers with the expected status Consecutive
// times in a row or the deadline passes. It never returns an error: the
// outcome, with the last problem seen, is in the result.
func (h HTTP) Run(ctx context.Context, name, rawURL string, s HTTPSettings) contracts.CheckResult {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return contracts.CheckResult{Name: name, Status: contracts.ResultFailed, Error: fmt.Sprintf("url %q is not an http or https URL", rawURL)}
	}
	return poll(ctx, h.Clock, name, s.Polling, func(ctx context.Context, _ int) (contracts.ResultStatus, string) {
		status, err := h.try(ctx, u.String(), s.Timeout)
		switch {
		case err != nil:
			return contracts.ResultFailed, err.Error()
		case status != s.Status:
			return contracts.ResultFailed, fmt.Sprintf("status %d, want %d", status, s.Status)
		}
		return contracts.ResultSucceeded, ""
	})
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
