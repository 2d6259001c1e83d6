package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
	"github.com/rollwave/rollwave/services/executor/internal/driver"
)

// act runs the action it holds the claim for (at revision rev), records the
// result in the claim, publishes it and acknowledges the delivery, in that
// order, so that a crash at any point never runs a finished action again.
func (s *Service) act(ctx context.Context, d delivery, rev uint64) {
	a := d.action
	ctx, span := s.tracer.Start(ctx, spanHostDeploy, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(append(s.actionAttributes(a), attribute.Int64("rollwave.delivery", int64(d.delivered)))...))
	defer span.End()
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	stopLease := s.keepLease(d)
	defer stopLease()
	// Unless the result gets recorded, this executor gives the claim back:
	// it is alive, and a claim held by a live instance is never taken over.
	recorded := false
	defer func() {
		if !recorded {
			s.release(d, rev)
		}
	}()

	d.log.Info("acting on host", "driver", a.Driver.Name())
	actCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.running.add(a.ID, a.Rollout, cancel)
	// Registered first, looked up second: an abort is either in the stream
	// by now or reaches the subscription while the action is registered.
	aborted, err := s.aborted(ctx, a)
	if err != nil {
		s.running.remove(a.ID)
		stopLease()
		s.retryLater(d, "look up abort", err)
		return
	}
	if aborted {
		cancel(errAborted)
	}
	res, driverName := s.run(actCtx, a)
	s.running.remove(a.ID)
	if s.runCtx.Err() != nil {
		// Interrupted by Stop, not a verdict on the host: leave the action
		// unacknowledged so another executor takes it over.
		d.log.Warn("action interrupted by shutdown; it will be redelivered")
		span.SetStatus(codes.Error, "interrupted by shutdown")
		return
	}
	switch cause := context.Cause(actCtx); {
	case errors.Is(cause, errFenced):
		// This instance may already count as dead: another executor takes
		// the action over once the heartbeat has expired.
		d.log.Warn("action stopped after the heartbeat was lost; it will be redelivered")
		span.SetStatus(codes.Error, "fenced")
		return
	case errors.Is(cause, errAborted):
		d.log.Warn("action cancelled: its rollout was aborted")
		res.Status, res.Error = contracts.ResultCancelled, "rollout aborted: "+res.Error
	}
	res.Executor = s.cfg.ID
	res.Deliveries = int(d.delivered)
	s.metrics.actions.WithLabelValues(driverName, a.Environment, string(res.Status)).Inc()
	s.metrics.seconds.WithLabelValues(driverName, a.Environment, string(res.Status)).Observe(res.FinishedAt.Sub(res.StartedAt).Seconds())
	span.SetAttributes(attribute.String("status", string(res.Status)))
	if res.Status != contracts.ResultSucceeded {
		span.SetStatus(codes.Error, res.Error)
	}

	final, ok := s.recordDone(ctx, d, rev, res)
	if !ok {
		return
	}
	recorded = true
	stopLease()
	if s.afterRecord != nil {
		s.afterRecord()
	}
	d.log.Info("host action finished", "status", final.Status, "error", final.Error)
	s.settle(ctx, d, final)
}

// recordDone stores the result in the claim. It returns the result to
// publish: its own, or the one already stored when another delivery
// finished first; false means the delivery must not be settled here.
func (s *Service) recordDone(ctx context.Context, d delivery, rev uint64, res contracts.HostResult) (contracts.HostResult, bool) {
	key := claim.Key(d.action.ID)
	done := claim.Claim{State: claim.Done, Executor: s.cfg.ID, Instance: s.currentInstance(), At: s.clock.Now().UTC(),
		StreamSeq: d.seq, Delivery: d.delivered, Result: &res}
	var lastErr error
	for attempt := range 3 {
		if attempt > 0 {
			// Broker retries back off in real time, whatever the clock.
			t := time.NewTimer(time.Duration(attempt) * time.Second)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return res, false
			}
		}
		_, err := withOp(ctx, func(ctx context.Context) (uint64, error) { return s.kv.Update(ctx, key, done.Encode(), rev) })
		if err == nil {
			return res, true
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			d.log.Warn("connection closed before the result was recorded; the action will be redelivered")
			return res, false
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			lastErr = err
			continue
		}
		// Someone changed the claim while this executor worked: it was
		// taken over (this executor looked dead) or given up on.
		entry, err := withOp(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return s.kv.Get(ctx, key) })
		if err != nil {
			lastErr = err
			continue
		}
		held, err := claim.Decode(entry.Value())
		if err == nil && held.State == claim.Done {
			d.log.Warn("action was finished elsewhere meanwhile; publishing that result", "by", held.Executor)
			return *held.Result, true
		}
		d.log.Warn("lost the claim while acting; the new holder reports the result", "holder", held.Executor)
		return res, false
	}
	s.retryLater(d, "record result", lastErr)
	return res, false
}

// keepLease extends the delivery's ack wait every AckWait/3 until the
// returned function is called. It ticks on real time, not the injected
// clock: the server's ack timer does.
func (s *Service) keepLease(d delivery) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(max(s.cfg.AckWait/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if err := d.msg.InProgress(); err != nil {
					d.log.Debug("extend lease", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
}

// run does the action's driver and then its checks, in order, and returns
// the result and the driver's name.
func (s *Service) run(ctx context.Context, a contracts.HostAction) (contracts.HostResult, string) {
	res := contracts.HostResult{
		ActionID: a.ID, Rollout: a.Rollout, Environment: a.Environment, App: a.App, Version: a.Version,
		Phase: a.Phase, Batch: a.Batch, Host: a.Host.Name, Attempt: a.Attempt,
		StartedAt: s.clock.Now().UTC(), Status: contracts.ResultFailed, Kind: a.Kind,
	}
	finish := func(errText string) contracts.HostResult {
		res.FinishedAt = s.clock.Now().UTC()
		if errText == "" {
			res.Status = contracts.ResultSucceeded
		}
		res.Error = errText
		return res
	}
	if a.Kind == contracts.ActionTraffic && a.Traffic != nil && a.Traffic.HTTP != nil {
		// An HTTP traffic switch has no driver.
		if err := s.switchByHTTP(ctx, a); err != nil {
			return finish("traffic: " + err.Error()), "traffic"
		}
		return finish(""), "traffic"
	}
	name, drv, err := driver.Select(a.Driver, s.drivers)
	if name == "" {
		name = "none"
	}
	if err != nil {
		return finish(err.Error()), name
	}
	if a.Host.Name == "" {
		return finish("host.name: is required"), name
	}
	if ctx.Err() != nil {
		return finish("not started: " + context.Cause(ctx).Error()), name
	}
	switch a.Kind {
	case contracts.ActionCheck:
		// A measurement of an analysis: the checks only, no driver.
		name = "check"
	case contracts.ActionTraffic:
		// An exec traffic switch: the driver runs the operator's argv
		// ({{.Target}} rendered), installs nothing and has no checks.
		out, err := drv.Run(ctx, a)
		res.ExitCode, res.Output = out.ExitCode, out.Output
		if err != nil {
			return finish("traffic: " + err.Error()), "traffic"
		}
		return finish(""), "traffic"
	default:
		if err := s.beforeHost(ctx, a); err != nil {
			return finish(err.Error()), name
		}
		out, err := drv.Run(ctx, a)
		res.ExitCode, res.Output = out.ExitCode, out.Output
		if err != nil {
			res.Installed = out.Installed
			return finish(name + ": " + err.Error()), name
		}
		res.Installed = true
	}
	for i, c := range a.Checks {
		cr := s.runCheck(ctx, i, c, a)
		res.Checks = append(res.Checks, cr)
		// An inconclusive check fails the host too: it is not known to be
		// healthy.
		if cr.Status != contracts.ResultSucceeded {
			if cr.Status == contracts.ResultInconclusive {
				return finish(fmt.Sprintf("check %s inconclusive: %s", c.Name, cr.Error)), name
			}
			return finish(fmt.Sprintf("check %s: %s", c.Name, cr.Error)), name
		}
	}
	if a.Kind == contracts.ActionDeploy {
		if err := s.afterHost(ctx, a); err != nil {
			return finish(err.Error()), name
		}
	}
	return finish(""), name
}

// runCheck runs one check of an action under its own span.
func (s *Service) runCheck(ctx context.Context, i int, c contracts.NamedCheck, a contracts.HostAction) contracts.CheckResult {
	ctx, span := s.tracer.Start(ctx, spanCheckRun, trace.WithAttributes(
		attribute.String("rollwave.rollout", a.Rollout), attribute.String("rollwave.host", a.Host.Name),
		attribute.String("rollwave.check.name", c.Name), attribute.String("rollwave.check.kind", c.Spec.Kind())))
	defer span.End()
	cr := s.checkResult(ctx, i, c, a)
	kind := c.Spec.Kind()
	if kind == "" {
		kind = "invalid"
	}
	s.metrics.checks.WithLabelValues(kind, string(cr.Status)).Inc()
	span.SetAttributes(attribute.Int("rollwave.check.attempts", cr.Attempts), attribute.String("rollwave.check.status", string(cr.Status)))
	if cr.Status != contracts.ResultSucceeded {
		span.SetStatus(codes.Error, cr.Error)
	}
	return cr
}

func (s *Service) checkResult(ctx context.Context, i int, c contracts.NamedCheck, a contracts.HostAction) contracts.CheckResult {
	return s.checks.Run(ctx, fmt.Sprintf("checks[%d].spec", i), c, a)
}
