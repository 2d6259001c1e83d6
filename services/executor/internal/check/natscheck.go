package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/render"
)

// Defaults of a nats check: one request unless a deadline is set.
const DefaultNATSTimeout = 5 * time.Second

// Requester is the part of a NATS connection a nats check uses.
type Requester interface {
	RequestMsgWithContext(ctx context.Context, msg *nats.Msg) (*nats.Msg, error)
}

// NATS asks verification services over request/reply (the contract is in
// contracts/verification.go). A verifier that is not there, or does not
// answer in time, is inconclusive: nothing was verified. An answer that does
// not decode fails: the verifier is broken.
type NATS struct {
	Conn  Requester
	Clock clock.Clock
}

// NATSSettings applies the defaults to spec, naming the field at fault
// under prefix.
func NATSSettings(prefix string, spec contracts.NATSCheck) (Polling, error) {
	return PollingOf(prefix, spec.Consecutive, spec.Interval, spec.Timeout, spec.Deadline,
		PollingDefaults{Timeout: DefaultNATSTimeout})
}

// VerificationRequestOf builds what a nats check sends about action a.
func VerificationRequestOf(check string, a contracts.HostAction, try int) contracts.VerificationRequest {
	params := render.MergeParams(a)
	if len(params) == 0 {
		params = nil
	}
	return contracts.VerificationRequest{
		Type: contracts.TypeVerificationRequest, Check: check,
		Rollout: a.Rollout, Environment: a.Environment, App: a.App, Version: a.Version, PreviousVersion: a.PreviousVersion,
		Host:     contracts.VerificationHost{Name: a.Host.Name, Address: a.Host.Address, Params: a.Host.Params},
		ActionID: a.ID, Attempt: a.Attempt, Params: params, Try: try,
	}
}

// Run sends the verification request for a to subject until the verifier
// passes it Consecutive times in a row or the deadline passes.
func (n NATS) Run(ctx context.Context, name, subject string, a contracts.HostAction, p Polling) contracts.CheckResult {
	if msg := contracts.VerificationSubjectProblem(subject); msg != "" {
		return contracts.CheckResult{Name: name, Status: contracts.ResultFailed, Error: "subject " + msg}
	}
	if n.Conn == nil {
		return contracts.CheckResult{Name: name, Status: contracts.ResultFailed, Error: "this executor has no NATS connection for nats checks"}
	}
	return poll(ctx, n.Clock, name, p, func(ctx context.Context, try int) (contracts.ResultStatus, string) {
		body, err := json.Marshal(VerificationRequestOf(name, a, try))
		if err != nil {
			return contracts.ResultFailed, fmt.Sprintf("encode verification request: %v", err)
		}
		ctx, cancel := context.WithTimeout(ctx, p.Timeout)
		defer cancel()
		reply, err := n.Conn.RequestMsgWithContext(ctx, natsx.NewMsg(ctx, subject, "", body))
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return contracts.ResultInconclusive, fmt.Sprintf("no verifier answers %s", subject)
		case err != nil && ctx.Err() != nil:
			return contracts.ResultInconclusive, fmt.Sprintf("no answer on %s within %v", subject, p.Timeout)
		case err != nil:
			return contracts.ResultInconclusive, fmt.Sprintf("request on %s: %v", subject, err)
		}
		v, err := contracts.DecodeVerificationReply(reply.Data)
		if err != nil {
			return contracts.ResultFailed, fmt.Sprintf("the verifier on %s answered something other than a verification reply: %v", subject, err)
		}
		if v.Status == contracts.VerificationPass {
			return contracts.ResultSucceeded, ""
		}
		reason := v.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return v.Status.Result(), fmt.Sprintf("verifier on %s: %s: %s", subject, v.Status, reason)
	})
}
