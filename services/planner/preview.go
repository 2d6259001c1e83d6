package planner

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/planner/internal/releases"
)

// estimateSamples is how many recent completed rollouts an estimate
// averages over.
const estimateSamples = 10

// previewCalendarTimeout bounds the calendar's answer to a preview, which
// a person is waiting for.
const previewCalendarTimeout = 2 * time.Second

// admitter asks the calendar whether a rollout may start at an instant.
type admitter interface {
	Admit(ctx context.Context, q contracts.AdmitQuery) (contracts.Admission, error)
}

// calendarClient asks the calendar service over NATS.
type calendarClient struct {
	nc      *nats.Conn
	timeout time.Duration
}

func (c calendarClient) Admit(ctx context.Context, q contracts.AdmitQuery) (contracts.Admission, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return natsx.Request[contracts.Admission](ctx, c.nc, contracts.APICalendarAdmit, q)
}

// runHistory gives the durations of recent completed rollouts.
type runHistory interface {
	Durations(ctx context.Context, app, env string, n int) ([]releases.Run, error)
}

// annotate adds the calendar's answers (now, and at the start time when
// there is one) and an estimate to a preview with a plan. Neither can make
// the preview fail: a calendar that does not answer is reported as such.
func (p *planning) annotate(ctx context.Context, req contracts.DeployRequest, reply *contracts.PreviewReply) {
	pl := reply.Plan
	now := p.clock.Now().UTC()
	whens := []struct {
		name string
		at   time.Time
	}{{"now", now}}
	if pl.StartAt != nil {
		whens = append(whens, struct {
			name string
			at   time.Time
		}{"start_at", pl.StartAt.UTC()})
	}
	for _, w := range whens {
		reply.Calendar = append(reply.Calendar, p.calendarAt(ctx, req, w.name, w.at))
	}
	reply.Estimate = p.estimate(ctx, *pl)
}

func (p *planning) calendarAt(ctx context.Context, req contracts.DeployRequest, when string, at time.Time) contracts.PreviewCalendar {
	out := contracts.PreviewCalendar{When: when, At: at}
	if p.calendar == nil {
		out.Unavailable = "no calendar is configured"
		return out
	}
	adm, err := p.calendar.Admit(ctx, contracts.AdmitQuery{Environment: req.Environment, At: at, Team: req.Team, Labels: req.Labels})
	if err != nil {
		out.Unavailable = "the calendar did not answer: " + unavailableText(err)
		return out
	}
	out.Allowed, out.Until, out.Window, out.Reason = adm.Allowed, adm.Until, adm.Window, adm.Reason
	return out
}

func unavailableText(err error) string {
	var e *contracts.Error
	if errors.As(err, &e) {
		return e.Message
	}
	if natsx.IsNoResponders(err) || errors.Is(err, nats.ErrNoResponders) {
		return "no calendar service is running"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return "no answer in time"
	}
	return err.Error()
}

// estimate is the mean time per batch of recent completed rollouts of the
// app in the environment times the plan's batches.
func (p *planning) estimate(ctx context.Context, pl contracts.Plan) *contracts.Estimate {
	est := &contracts.Estimate{}
	for _, ph := range pl.Phases {
		est.Batches += len(ph.Batches)
	}
	if p.runs == nil {
		return est
	}
	runs, err := p.runs.Durations(ctx, pl.App, pl.Environment, estimateSamples)
	if err != nil {
		// No estimate is better than a failed preview.
		return est
	}
	var total time.Duration
	batches := 0
	for _, r := range runs {
		total += r.Duration
		batches += r.Batches
	}
	if batches == 0 {
		return est
	}
	est.Samples = len(runs)
	per := total / time.Duration(batches)
	est.PerBatch = contracts.Duration(per)
	est.Duration = contracts.Duration(per * time.Duration(est.Batches))
	return est
}
