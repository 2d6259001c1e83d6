package check

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

// Defaults of a prometheus check: one query unless a deadline is set.
const DefaultPrometheusTimeout = 10 * time.Second

// maxAnswer bounds the answer read from Prometheus.
const maxAnswer = 4 << 20

// Prometheus runs instant queries against a Prometheus HTTP API.
//
// Verdicts: every sample satisfying the threshold passes; any sample
// failing it fails, naming the series; no samples, a NaN sample (a ratio
// over no traffic), a server that does not answer or answers 5xx is
// inconclusive, since nothing was measured; a query the server refuses
// (4xx, status "error") or an answer that does not decode fails, since
// the check itself is broken.
type Prometheus struct {
	Client *http.Client
	Clock  clock.Clock
}

// PrometheusSettings applies the defaults to spec, naming the field at
// fault under prefix.
func PrometheusSettings(prefix string, spec contracts.PrometheusCheck) (Polling, error) {
	return PollingOf(prefix, spec.Consecutive, spec.Interval, spec.Timeout, spec.Deadline,
		PollingDefaults{Timeout: DefaultPrometheusTimeout})
}

// Run queries base's /api/v1/query with query, Consecutive times in a row
// passing or until the deadline.
func (p Prometheus) Run(ctx context.Context, name, base, query, op string, threshold float64, s Polling) contracts.CheckResult {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return contracts.CheckResult{Name: name, Status: contracts.ResultFailed, Error: fmt.Sprintf("url %q is not an http or https URL", base)}
	}
	u = u.JoinPath("api", "v1", "query")
	u.RawQuery = url.Values{"query": {query}}.Encode()
	return poll(ctx, p.Clock, name, s, func(ctx context.Context, _ int) (contracts.ResultStatus, string) {
		ans, status, msg := p.query(ctx, u.String(), s.Timeout)
		if status != "" {
			return status, msg
		}
		return judge(ans, op, threshold)
	})
}

// query asks once; a non-empty status is the verdict without judging.
func (p Prometheus) query(ctx context.Context, u string, timeout time.Duration) (QueryAnswer, contracts.ResultStatus, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return QueryAnswer{}, contracts.ResultFailed, fmt.Sprintf("build request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return QueryAnswer{}, contracts.ResultInconclusive, fmt.Sprintf("prometheus did not answer within %v", timeout)
		}
		return QueryAnswer{}, contracts.ResultInconclusive, fmt.Sprintf("prometheus unreachable: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return QueryAnswer{}, contracts.ResultInconclusive, fmt.Sprintf("read prometheus answer: %v", err)
	case len(body) > maxAnswer:
		return QueryAnswer{}, contracts.ResultFailed, fmt.Sprintf("prometheus answer is larger than %d bytes; aggregate the query", maxAnswer)
	}
	ans, err := DecodeQueryAnswer(body)
	switch {
	case resp.StatusCode >= 500:
		detail := ans.Error
		if err != nil || detail == "" {
			detail = strings.TrimSpace(clipText(string(body)))
		}
		return QueryAnswer{}, contracts.ResultInconclusive, fmt.Sprintf("prometheus answered %d: %s", resp.StatusCode, detail)
	case err != nil:
		return QueryAnswer{}, contracts.ResultFailed, fmt.Sprintf("prometheus answer (HTTP %d) is not a query result: %v", resp.StatusCode, err)
	case ans.Error != "":
		return QueryAnswer{}, contracts.ResultFailed, "prometheus refused the query: " + ans.Error
	case resp.StatusCode != http.StatusOK:
		return QueryAnswer{}, contracts.ResultFailed, fmt.Sprintf("prometheus answered %d", resp.StatusCode)
	}
	return ans, "", ""
}

// judge compares every sample with the threshold.
func judge(ans QueryAnswer, op string, threshold float64) (contracts.ResultStatus, string) {
	if len(ans.Samples) == 0 {
		return contracts.ResultInconclusive, "the query returned no samples"
	}
	for _, s := range ans.Samples {
		if isNaN(s.Value) {
			return contracts.ResultInconclusive, fmt.Sprintf("%s is NaN (no data to judge)", describe(s))
		}
	}
	for _, s := range ans.Samples {
		if !contracts.Compare(s.Value, op, threshold) {
			return contracts.ResultFailed, fmt.Sprintf("%s = %g, want %s %g", describe(s), s.Value, op, threshold)
		}
	}
	return contracts.ResultSucceeded, ""
}

func describe(s Sample) string {
	if s.Series == "" {
		return "the scalar"
	}
	return s.Series
}
