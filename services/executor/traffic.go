package executor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// defaultTrafficTimeout bounds an HTTP traffic switch without a timeout.
const defaultTrafficTimeout = 10 * time.Second

// switchByHTTP makes the HTTP call of a traffic action: the URL rendered
// with the action's data ({{.Target}}), the method (POST when unset), and
// an answer with the expected status (200 when unset).
func (s *Service) switchByHTTP(ctx context.Context, a contracts.HostAction) error {
	h := a.Traffic.HTTP
	url, err := render.String("traffic.http.url", h.URL, render.DataOf(a))
	if err != nil {
		return err
	}
	method, want, timeout := h.Method, h.Status, h.Timeout.D()
	if method == "" {
		method = http.MethodPost
	}
	if want == 0 {
		want = http.StatusOK
	}
	if timeout <= 0 {
		timeout = defaultTrafficTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	// One call per switch: a client of its own, which compares the
	// status the URL itself answers with (no redirects followed).
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d, want %d", method, url, resp.StatusCode, want)
	}
	return nil
}
