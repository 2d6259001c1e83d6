package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// DefaultAgentTimeout bounds an agent action whose driver sets no timeout.
const DefaultAgentTimeout = 10 * time.Minute

// Agent sends the action to the host's agent (rollwave agent) by
// request/reply on contracts.AgentActSubject and returns its answer.
//
// Request/reply rather than a per-host stream: the executor already holds
// the action durably (its work-queue message, its claim and lease), so a
// second durable queue per host would add a place where an action can
// wait unseen. Crash safety comes from re-sending: the same action (same
// id) is sent again until the agent answers or the timeout passes, and the
// agent runs each id once, joining a run in flight and answering a
// completed one from its journal. A lost request or reply, an agent or
// NATS restart, or a redelivery to another executor after a crash thus
// costs a re-send, never a second deploy.
type Agent struct {
	NC     *nats.Conn
	Source string
	// TryWait bounds one request; a long deploy is waited for over
	// several (default 30s).
	TryWait time.Duration
	// RetryEvery is the pause after an agent that did not answer at all
	// (default 1s).
	RetryEvery time.Duration
}

// Run sends the action and waits for the agent's result.
func (d Agent) Run(ctx context.Context, a contracts.HostAction) (Outcome, error) {
	spec := a.Driver.Agent
	if spec == nil {
		return Outcome{}, contracts.Invalid("driver.agent", "is required")
	}
	if spec.Timeout < 0 {
		return Outcome{}, contracts.Invalid("driver.agent.timeout", "must not be negative, got %v", spec.Timeout.D())
	}
	if d.NC == nil {
		return Outcome{}, errors.New("no NATS connection for the agent driver")
	}
	timeout := spec.Timeout.D()
	if timeout == 0 {
		timeout = DefaultAgentTimeout
	}
	tryWait, retry := d.TryWait, d.RetryEvery
	if tryWait <= 0 {
		tryWait = 30 * time.Second
	}
	if retry <= 0 {
		retry = time.Second
	}
	subject := contracts.AgentActSubject(a.Environment, a.Host.Name)
	body, err := contracts.Marshal(contracts.TypeHostAction, a.ID, d.Source, a.ID, time.Now().UTC(), a)
	if err != nil {
		return Outcome{}, fmt.Errorf("encode action: %w", err)
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for runCtx.Err() == nil {
		tryCtx, cancelTry := context.WithTimeout(runCtx, tryWait)
		reply, err := d.NC.RequestMsgWithContext(tryCtx, natsx.NewMsg(ctx, subject, "", body))
		cancelTry()
		if err == nil {
			return decodeAgentReply(a.ID, reply.Data)
		}
		if lastErr == nil || runCtx.Err() == nil {
			lastErr = err // keep why the agent was silent, not the final deadline
		}
		if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected) {
			// Nobody listens (agent down, NATS reconnecting): pause rather
			// than spin. A request that timed out is sent again at once;
			// the agent joins it to the run in flight.
			t := time.NewTimer(retry)
			select {
			case <-t.C:
			case <-runCtx.Done():
				t.Stop()
			}
		}
	}
	if ctx.Err() != nil {
		return Outcome{}, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return Outcome{}, fmt.Errorf("the agent of %s in %s did not answer within %v: %w", a.Host.Name, a.Environment, timeout, lastErr)
}

// decodeAgentReply reads the agent's answer, tolerantly: agents may be
// newer than this executor.
func decodeAgentReply(id string, b []byte) (Outcome, error) {
	env, err := contracts.DecodeEnvelope(b)
	if err != nil {
		return Outcome{}, fmt.Errorf("agent reply: %w", err)
	}
	var res contracts.AgentActResult
	if err := env.DecodeDataTolerant(contracts.TypeAgentActResult, &res); err != nil {
		return Outcome{}, fmt.Errorf("agent reply: %w", err)
	}
	if err := res.Validate(); err != nil {
		return Outcome{}, fmt.Errorf("agent reply: %w", err)
	}
	if res.ActionID != id {
		return Outcome{}, fmt.Errorf("agent reply is for action %q, not %q", res.ActionID, id)
	}
	out := Outcome{ExitCode: res.ExitCode, Output: res.Output, Installed: res.Installed}
	if res.Status != contracts.ResultSucceeded {
		return out, errors.New(res.Error)
	}
	return out, nil
}
