package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// apiClient calls the gateway's HTTP API.
type apiClient struct {
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
}

func newAPIClient(base *url.URL, timeout time.Duration) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Bounds waiting for the first byte of an answer, event streams
	// included; the streams themselves may then last as long as they need.
	tr.ResponseHeaderTimeout = timeout
	return &apiClient{base: base, hc: &http.Client{Transport: tr}, timeout: timeout}
}

// apiError is an error answer of the gateway.
type apiError struct {
	Status  int
	Body    contracts.Error
	Reasons []contracts.FieldError
}

func (e *apiError) Error() string { return fieldMessage(e.Body.Field, e.Body.Message) }

// Code returns the contract code of the error.
func (e *apiError) Code() contracts.Code { return e.Body.Code }

func (c *apiClient) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// call sends body (JSON, if not nil) and returns the raw answer, decoding it
// into out when out is not nil. Error statuses become *apiError.
func (c *apiClient) call(ctx context.Context, method, path string, q url.Values, body, out any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, c.transportError(err))
	}
	if resp.StatusCode >= 300 {
		return raw, decodeAPIError(resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}

func decodeAPIError(status int, raw []byte) error {
	var body struct {
		contracts.Error
		Reasons []contracts.FieldError `json:"reasons"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Message == "" {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return &apiError{Status: status, Body: contracts.Error{Code: contracts.CodeInternal, Message: fmt.Sprintf("HTTP %d: %s", status, msg)}}
	}
	return &apiError{Status: status, Body: body.Error, Reasons: body.Reasons}
}

// transportError explains the common ways of not reaching the API.
func (c *apiClient) transportError(err error) error {
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the Rollwave API at %s did not answer within %s (see --request-timeout)", c.base, c.timeout)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("cannot reach the Rollwave API at %s: %v (is `rollwave dev` running? set --api or %s)", c.base, opErr.Err, apiEnv)
	}
	return err
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	ID    string
	Event string
	Data  []byte
}

// maxEventBytes bounds one event; a plan of a few thousand hosts fits.
const maxEventBytes = 16 << 20

// events follows GET /v1/events and calls fn for each event until fn says
// stop, the server ends the stream (nil error) or ctx ends.
func (c *apiClient) events(ctx context.Context, q url.Values, fn func(sseEvent) (stop bool, err error)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v1/events", q), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return decodeAPIError(resp.StatusCode, raw)
	}
	if err := readEvents(resp.Body, fn); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// readEvents parses a text/event-stream and calls fn per event; comments
// (heartbeats) and fields this client does not use are skipped.
func readEvents(r io.Reader, fn func(sseEvent) (stop bool, err error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEventBytes)
	var ev sseEvent
	var data [][]byte
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if data != nil {
				ev.Data = bytes.Join(data, []byte("\n"))
				stop, err := fn(ev)
				if err != nil || stop {
					return err
				}
			}
			ev, data = sseEvent{}, nil
			continue
		}
		if line[0] == ':' {
			continue // comment: heartbeat
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Event = string(value)
		case "data":
			data = append(data, append([]byte(nil), value...))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}

// show calls the API and prints the answer: the raw JSON with -o json,
// else text(answer).
func show[T any](cmd *cobra.Command, g *globals, method, path string, q url.Values, body any, text func(io.Writer, T)) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var v T
	raw, err := c.call(cmd.Context(), method, path, q, body, &v)
	if err != nil {
		return err
	}
	if g.json() {
		printRaw(cmd.OutOrStdout(), raw)
		return nil
	}
	text(cmd.OutOrStdout(), v)
	return nil
}

// envQuery is the query of commands filtered by --env.
func envQuery(env string) url.Values {
	q := url.Values{}
	if env != "" {
		q.Set("environment", env)
	}
	return q
}
