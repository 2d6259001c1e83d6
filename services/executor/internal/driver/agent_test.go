package driver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func agentAction(timeout time.Duration) contracts.HostAction {
	return contracts.HostAction{ID: "r1/0/web-01/attempt-1", Rollout: "r1", Environment: "qa", App: "web", Version: "1.0.0", Attempt: 1,
		Host:   contracts.ActionHost{Name: "web-01.example.com"},
		Driver: contracts.DriverSpec{Agent: &contracts.AgentDriver{Timeout: contracts.Duration(timeout)}}}
}

// With no agent listening, the driver keeps asking until its timeout and
// then fails naming the host.
func TestAgentDriverFailsWhenNoAgentAnswers(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	d := Agent{NC: nc, Source: "test", RetryEvery: 20 * time.Millisecond}
	start := time.Now()
	_, err := d.Run(context.Background(), agentAction(300*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "the agent of web-01.example.com in qa did not answer within 300ms") ||
		!strings.Contains(err.Error(), "no responders") {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("gave up after %v", el)
	}
}

// An agent that comes up late is reached by a re-send of the same action,
// and a failed result becomes the driver's error; a reply for another
// action is refused.
func TestAgentDriverResendsUntilTheAgentAnswers(t *testing.T) {
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	agentNC := natstest.Connect(t, srv)
	a := agentAction(30 * time.Second)
	answer := func(res contracts.AgentActResult) {
		sub, err := agentNC.Subscribe(contracts.AgentActSubject("qa", "web-01.example.com"), func(m *nats.Msg) {
			b, _ := contracts.Marshal(contracts.TypeAgentActResult, "x", "agent", "x", time.Now(), res)
			_ = m.Respond(b)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	time.AfterFunc(300*time.Millisecond, func() {
		code := 3
		answer(contracts.AgentActResult{ActionID: a.ID, Status: contracts.ResultFailed, Error: "start command: exited with code 3", ExitCode: &code, Output: "boom", Installed: true})
	})
	d := Agent{NC: nc, Source: "test", RetryEvery: 20 * time.Millisecond}
	out, err := d.Run(context.Background(), a)
	if err == nil || err.Error() != "start command: exited with code 3" || out.Output != "boom" || !out.Installed || out.ExitCode == nil || *out.ExitCode != 3 {
		t.Fatalf("out %+v err %v", out, err)
	}
	if _, err := decodeAgentReply("other", mustMarshalResult(t, contracts.AgentActResult{ActionID: a.ID, Status: contracts.ResultSucceeded})); err == nil {
		t.Fatal("a reply for another action was accepted")
	}
}

func mustMarshalResult(t *testing.T, res contracts.AgentActResult) []byte {
	b, err := contracts.Marshal(contracts.TypeAgentActResult, "x", "agent", "x", time.Now(), res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
