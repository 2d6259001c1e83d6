package check

import (
	"context"
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
)

// Polling is the schedule every check kind shares: a try every Interval
// until Consecutive tries in a row pass or the next try would start after
// Deadline. A Deadline of 0 makes one try. Each try bounds itself by
// Timeout.
type Polling struct {
	Consecutive int
	Interval    time.Duration
	Timeout     time.Duration
	Deadline    time.Duration
}

// PollingDefaults are a kind's defaults for fields left 0.
type PollingDefaults struct {
	Timeout  time.Duration
	Deadline time.Duration
}

// PollingOf applies defaults to a check's polling fields and checks them,
// naming the field at fault under prefix (such as "checks[0].spec.tcp").
func PollingOf(prefix string, consecutive int, interval, timeout, deadline contracts.Duration, def PollingDefaults) (Polling, error) {
	p := Polling{Consecutive: consecutive, Interval: interval.D(), Timeout: timeout.D(), Deadline: deadline.D()}
	var fe contracts.FieldErrors
	if p.Consecutive == 0 {
		p.Consecutive = DefaultConsecutive
	} else if p.Consecutive < 0 {
		fe.Add(prefix+".consecutive", "must be at least 1, got %d", p.Consecutive)
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{{"interval", &p.Interval, DefaultInterval}, {"timeout", &p.Timeout, def.Timeout}, {"deadline", &p.Deadline, def.Deadline}} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			fe.Add(prefix+"."+d.field, "must not be negative, got %v", *d.v)
		}
	}
	return p, fe.Err()
}

// tryFunc makes one try; n counts tries from 1. It returns the try's
// status and, unless it passed, what was wrong.
type tryFunc func(ctx context.Context, n int) (contracts.ResultStatus, string)

// poll runs try on p's schedule, waiting on clk. It never returns an error:
// the outcome, with the last problem seen, is in the result. The check is
// inconclusive when its last try was.
func poll(ctx context.Context, clk clock.Clock, name string, p Polling, try tryFunc) contracts.CheckResult {
	start := clk.Now()
	res := contracts.CheckResult{Name: name, Status: contracts.ResultFailed}
	finish := func(status contracts.ResultStatus, errText string) contracts.CheckResult {
		res.Status, res.Error = status, errText
		res.Duration = contracts.Duration(clk.Now().Sub(start))
		return res
	}
	deadline := start.Add(p.Deadline)
	inRow := 0
	var last string
	for {
		res.Attempts++
		status, msg := try(ctx, res.Attempts)
		if status == contracts.ResultSucceeded {
			inRow++
			if inRow >= p.Consecutive {
				return finish(contracts.ResultSucceeded, "")
			}
		} else {
			inRow, last = 0, msg
		}
		if ctx.Err() != nil {
			return finish(contracts.ResultFailed, fmt.Sprintf("interrupted after %d attempts: %v", res.Attempts, ctx.Err()))
		}
		if clk.Now().Add(p.Interval).After(deadline) {
			final := contracts.ResultFailed
			if status == contracts.ResultInconclusive {
				final = contracts.ResultInconclusive
			}
			switch {
			case p.Deadline == 0 && res.Attempts == 1:
				return finish(final, last)
			case status == contracts.ResultSucceeded:
				last = fmt.Sprintf("only %d of %d successes in a row", inRow, p.Consecutive)
			}
			return finish(final, fmt.Sprintf("deadline %v passed after %d attempts; last: %s", p.Deadline, res.Attempts, last))
		}
		select {
		case <-clk.After(p.Interval):
		case <-ctx.Done():
			return finish(contracts.ResultFailed, fmt.Sprintf("interrupted after %d attempts: %v", res.Attempts, ctx.Err()))
		}
	}
}
