package haproxy

import (
	"context"
	"fmt"
	"time"
)

// Waiter wakes a poll after a duration; pkg/clock's clocks are ones.
type Waiter interface {
	After(d time.Duration) <-chan time.Time
}

// WaitSessions polls backend/server every interval until its current
// sessions reach zero, and returns an error naming the sessions left when
// timeout (measured on w) passes first, or when ctx ends.
func (c *Client) WaitSessions(ctx context.Context, w Waiter, backend, server string, timeout, interval time.Duration) error {
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	expired := w.After(timeout)
	for {
		s, err := c.Server(ctx, backend, server)
		if err != nil {
			return err
		}
		if s.Sessions == 0 {
			return nil
		}
		select {
		case <-expired:
			return fmt.Errorf("haproxy %s/%s still has %d sessions after %s", backend, server, s.Sessions, timeout)
		case <-ctx.Done():
			return fmt.Errorf("haproxy %s/%s: waiting for %d sessions to end: %w", backend, server, s.Sessions, context.Cause(ctx))
		case <-w.After(interval):
		}
	}
}
