package check

import (
	"context"
	"fmt"
	"net"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

// TCP opens connections. It shares the defaults of an HTTP check: a service
// that is starting is given a minute to listen.
type TCP struct {
	Clock clock.Clock
}

// TCPSettings applies the defaults to spec, naming the field at fault
// under prefix.
func TCPSettings(prefix string, spec contracts.TCPCheck) (Polling, error) {
	return PollingOf(prefix, spec.Consecutive, spec.Interval, spec.Timeout, spec.Deadline,
		PollingDefaults{Timeout: DefaultTimeout, Deadline: DefaultDeadline})
}

// Run dials address until a connection opens Consecutive times in a row or
// the deadline passes; each connection is closed at once.
func (t TCP) Run(ctx context.Context, name, address string, p Polling) contracts.CheckResult {
	if msg := contracts.TCPAddressProblem(address); msg != "" {
		return contracts.CheckResult{Name: name, Status: contracts.ResultFailed, Error: "address " + msg}
	}
	return poll(ctx, t.Clock, name, p, func(ctx context.Context, _ int) (contracts.ResultStatus, string) {
		ctx, cancel := context.WithTimeout(ctx, p.Timeout)
		defer cancel()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", address)
		if err != nil {
			if ctx.Err() != nil {
				return contracts.ResultFailed, fmt.Sprintf("no connection to %s within %v", address, p.Timeout)
			}
			return contracts.ResultFailed, err.Error()
		}
		_ = conn.Close()
		return contracts.ResultSucceeded, ""
	})
}
