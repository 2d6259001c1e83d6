package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestApproveAndReject(t *testing.T) {
	a := startAPI(t)
	got := make(chan contracts.ControlCommand, 2)
	answer := func(state contracts.State) func(m *nats.Msg) (any, *contracts.Error) {
		return func(m *nats.Msg) (any, *contracts.Error) {
			var cmd contracts.ControlCommand
			_ = json.Unmarshal(m.Data, &cmd)
			got <- cmd
			return contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod",
				State: state, Counts: contracts.Counts{Total: 4, Succeeded: 2}}, nil
		}
	}
	a.respond(contracts.ControlSubject("r-1", contracts.VerbApprove), answer(contracts.StateRunning))
	a.respond(contracts.ControlSubject("r-1", contracts.VerbReject), answer(contracts.StateFailed))
	a.respond(contracts.ControlSubject("r-2", contracts.VerbApprove), func(*nats.Msg) (any, *contracts.Error) {
		return nil, &contracts.Error{Code: contracts.CodeInvalidState, Message: "cannot approve: rollout r-2 is not waiting at a gate"}
	})

	t.Setenv("ROLLWAVE_ACTOR", "carol")
	code, out, errOut := a.run("approve", "r-1", "--step", "canary", "-m", "metrics fine")
	if code != 0 || strings.TrimSpace(out) != "r-1: running (web@2.4.1 in prod, hosts 2/4)" {
		t.Fatalf("approve: code %d, out %q, stderr %q", code, out, errOut)
	}
	if cmd := <-got; cmd.Actor != "carol" || cmd.Reason != "metrics fine" || cmd.Step != "canary" {
		t.Fatalf("approve command = %+v", cmd)
	}
	code, _, errOut = a.run("reject", "r-1", "--as", "dave", "-m", "error rate up")
	if code != 0 {
		t.Fatalf("reject: code %d, stderr %q", code, errOut)
	}
	if cmd := <-got; cmd.Actor != "dave" || cmd.Reason != "error rate up" || cmd.Step != "" {
		t.Fatalf("reject command = %+v", cmd)
	}
	code, _, errOut = a.run("approve", "r-2", "-m", "x")
	if code != exitFailed || strings.TrimSpace(errOut) != "error: cannot approve: rollout r-2 is not waiting at a gate" {
		t.Fatalf("approve 409: code %d, stderr %q", code, errOut)
	}
}
