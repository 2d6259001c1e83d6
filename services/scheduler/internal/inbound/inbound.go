// Package inbound parses the messages the scheduler receives from outside:
// planned events, host results and control commands. Each parser checks
// the envelope, decodes the data strictly and cross-checks it against the
// subject it arrived on, returning an invalid_request error that names the
// field at fault.
package inbound

import (
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// Limits on operator-supplied text that ends up in every later event.
const (
	MaxActorLen  = 256
	MaxReasonLen = 1024
	// MaxStepLen bounds a control command's step: a step id and a gate suffix.
	MaxStepLen = 200
)

// Planned parses a planned event and checks that its plan can be run. An
// event whose plan is stored by reference comes back with Plan nil and a
// checked PlanRef: the caller fetches the plan and checks it with Plan.
func Planned(subject string, data []byte) (contracts.Event, error) {
	env, err := contracts.DecodeEnvelope(data)
	if err != nil {
		return contracts.Event{}, err
	}
	var ev contracts.Event
	if err := env.DecodeDataTolerant(contracts.EventTypeID(contracts.EventPlanned), &ev); err != nil {
		return contracts.Event{}, err
	}
	switch {
	case ev.Plan == nil && ev.PlanRef == nil:
		return ev, contracts.Invalid("plan", "is required on a planned event")
	case ev.Plan != nil && ev.PlanRef != nil:
		return ev, contracts.Invalid("plan_ref", "must not be set with plan")
	case ev.PlanRef != nil:
		if err := contracts.CheckPlanRef("plan_ref", ev.Rollout, *ev.PlanRef); err != nil {
			return ev, err
		}
	default:
		if err := Plan(ev, *ev.Plan); err != nil {
			return ev, err
		}
	}
	if want := contracts.EventSubject(ev.Environment, ev.Rollout, contracts.EventPlanned); subject != want {
		return ev, contracts.Invalid("subject", "a planned event for rollout %q must arrive on %q, got %q", ev.Rollout, want, subject)
	}
	return ev, nil
}

// Plan checks that p, the plan of planned event ev, belongs to it and can
// be run.
func Plan(ev contracts.Event, p contracts.Plan) error {
	switch {
	case p.Rollout != ev.Rollout:
		return contracts.Invalid("plan.rollout", "must match the event's rollout %q, got %q", ev.Rollout, p.Rollout)
	case p.Environment != ev.Environment:
		return contracts.Invalid("plan.environment", "must match the event's environment %q, got %q", ev.Environment, p.Environment)
	}
	if err := rollout.ValidatePlan(p); err != nil {
		return prefix("plan.", err)
	}
	return nil
}

// Result parses a host result.
func Result(subject string, data []byte) (contracts.HostResult, error) {
	env, err := contracts.DecodeEnvelope(data)
	if err != nil {
		return contracts.HostResult{}, err
	}
	var res contracts.HostResult
	if err := env.DecodeDataTolerant(contracts.TypeHostResult, &res); err != nil {
		return contracts.HostResult{}, err
	}
	var fe contracts.FieldErrors
	if res.ActionID == "" {
		fe.Add("action_id", "is required")
	}
	if !contracts.ValidToken(res.Rollout) {
		fe.Add("rollout", "must be a subject token, got %q", res.Rollout)
	}
	if !contracts.ValidToken(res.Environment) {
		fe.Add("environment", "must be a subject token, got %q", res.Environment)
	}
	if res.Host == "" {
		fe.Add("host", "is required")
	}
	if res.Attempt < 1 {
		fe.Add("attempt", "must be 1 or more, got %d", res.Attempt)
	}
	if res.Batch < 1 {
		fe.Add("batch", "must be 1 or more, got %d", res.Batch)
	}
	if res.Phase.Index < 0 {
		fe.Add("phase.index", "must be 0 or more, got %d", res.Phase.Index)
	}
	if res.Status == contracts.ResultCancelled {
		// An executor stopped the action because the rollout was aborted:
		// terminal and not a success, which the rollout counts as failed.
		res.Status = contracts.ResultFailed
	}
	if res.Status != contracts.ResultSucceeded && res.Status != contracts.ResultFailed {
		fe.Add("status", "must be succeeded, failed or cancelled, got %q", res.Status)
	}
	if err := fe.Err(); err != nil {
		return res, err
	}
	if want := contracts.ResultSubject(res.Environment, res.Rollout); subject != want {
		return res, contracts.Invalid("subject", "a result for rollout %q must arrive on %q, got %q", res.Rollout, want, subject)
	}
	return res, nil
}

// Command parses a control request: the rollout and verb from the subject,
// the actor and reason from the body (which may be empty).
func Command(subject string, body []byte) (string, contracts.Verb, contracts.ControlCommand, error) {
	var cmd contracts.ControlCommand
	id, verb, err := contracts.ParseControlSubject(subject)
	if err != nil {
		return "", "", cmd, err
	}
	if err := contracts.CheckToken("rollout", id); err != nil {
		return "", "", cmd, err
	}
	if len(body) > 0 {
		if err := contracts.DecodeStrict(body, &cmd); err != nil {
			return "", "", cmd, err
		}
	}
	switch {
	case len(cmd.Actor) > MaxActorLen:
		return "", "", cmd, contracts.Invalid("actor", "must be at most %d bytes, got %d", MaxActorLen, len(cmd.Actor))
	case len(cmd.Reason) > MaxReasonLen:
		return "", "", cmd, contracts.Invalid("reason", "must be at most %d bytes, got %d", MaxReasonLen, len(cmd.Reason))
	case len(cmd.Step) > MaxStepLen:
		return "", "", cmd, contracts.Invalid("step", "must be at most %d bytes, got %d", MaxStepLen, len(cmd.Step))
	}
	return id, verb, cmd, nil
}

// prefix puts a path in front of the field of every error in err.
func prefix(path string, err error) error {
	if fe, ok := err.(contracts.FieldErrors); ok {
		out := make(contracts.FieldErrors, len(fe))
		for i, f := range fe {
			out[i] = contracts.FieldError{Field: path + f.Field, Message: f.Message}
		}
		return out
	}
	if ce, ok := err.(*contracts.Error); ok {
		c := *ce
		c.Field = path + c.Field
		return &c
	}
	return fmt.Errorf("%s: %w", path, err)
}
