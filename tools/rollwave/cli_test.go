package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/buildinfo"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/gateway"
)

// api is a real gateway on 127.0.0.1:0 in front of an embedded JetStream;
// the tests answer the other services' subjects themselves.
type api struct {
	t   *testing.T
	nc  *nats.Conn
	js  jetstream.JetStream
	url string
}

func startAPI(t *testing.T) *api {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	js := natstest.JetStream(t, nc)
	gwNC := natstest.Connect(t, srv)
	gwJS, err := jetstream.New(gwNC)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(service.Deps{NC: gwNC, JS: gwJS, Log: slog.New(slog.DiscardHandler)},
		gateway.Config{Addr: "127.0.0.1:0", RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = gw.Stop(ctx)
	})
	// No colour and no terminal: plain text, whatever the environment.
	t.Setenv("NO_COLOR", "1")
	t.Setenv("USER", "tester")
	return &api{t: t, nc: nc, js: js, url: "http://" + gw.Addr()}
}

// run executes the CLI in-process and returns its exit status and output.
func (a *api) run(args ...string) (code int, stdout, stderr string) {
	a.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code = execute(ctx, append([]string{"--api", a.url}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func (a *api) respond(subject string, fn func(m *nats.Msg) (any, *contracts.Error)) {
	a.t.Helper()
	sub, err := a.nc.Subscribe(subject, func(m *nats.Msg) {
		data, e := fn(m)
		reply := map[string]any{}
		if e != nil {
			reply["error"] = e
		} else {
			reply["data"] = data
		}
		b, _ := json.Marshal(reply)
		_ = m.Respond(b)
	})
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := a.nc.Flush(); err != nil {
		a.t.Fatal(err)
	}
}

func (a *api) publishEvent(typ contracts.EventType, ev contracts.Event) uint64 {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := contracts.Marshal(contracts.EventTypeID(typ), contracts.EventMsgID(ev.Rollout, ev.Seq), "test", ev.Rollout, time.Now(), ev)
	if err != nil {
		a.t.Fatal(err)
	}
	ack, err := a.js.Publish(ctx, contracts.EventSubject(ev.Environment, ev.Rollout, typ), b)
	if err != nil {
		a.t.Fatal(err)
	}
	return ack.Sequence
}

// publishRollout records the events of a whole rollout of two hosts in one
// phase that ends in final.
func (a *api) publishRollout(id string, final contracts.State) {
	base := contracts.Event{Rollout: id, Environment: "qa", App: "web", Version: "2.4.1"}
	plan := &contracts.Plan{Rollout: id, App: "web", Version: "2.4.1", Environment: "qa",
		Phases: []contracts.PlannedPhase{{Name: "all", Batches: [][]string{{"web-01", "web-02"}}}}}
	phase := &contracts.PhaseRef{Index: 0, Name: "all"}
	step := func(typ contracts.EventType, seq int64, mod func(*contracts.Event)) {
		ev := base
		ev.Seq = seq
		mod(&ev)
		a.publishEvent(typ, ev)
	}
	step(contracts.EventPlanned, 0, func(e *contracts.Event) { e.State, e.Plan = contracts.StatePlanned, plan })
	step(contracts.EventStarted, 1, func(e *contracts.Event) { e.State = contracts.StateRunning })
	step(contracts.EventPhaseStarted, 2, func(e *contracts.Event) {
		e.State, e.Phase, e.Hosts = contracts.StateRunning, phase, []string{"web-01", "web-02"}
	})
	step(contracts.EventHostSucceeded, 3, func(e *contracts.Event) {
		e.State, e.Phase, e.Batch = contracts.StateRunning, phase, 1
		e.Host = &contracts.HostOutcome{Name: "web-01", Attempt: 1, Status: contracts.ResultSucceeded}
	})
	if final == contracts.StateCompleted {
		step(contracts.EventCompleted, 4, func(e *contracts.Event) {
			e.State, e.Counts = contracts.StateCompleted, &contracts.Counts{Total: 2, Succeeded: 2}
		})
		return
	}
	step(contracts.EventHostFailed, 4, func(e *contracts.Event) {
		e.State, e.Phase, e.Batch = contracts.StateRunning, phase, 1
		e.Host = &contracts.HostOutcome{Name: "web-02", Attempt: 1, Status: contracts.ResultFailed, Error: "exit status 3"}
	})
	step(contracts.EventFailed, 5, func(e *contracts.Event) {
		e.State, e.Reason = contracts.StateFailed, "1 host failed, more than max_failed 0"
	})
}

const goodSpec = `app: web
version: 2.4.1
environment: qa
phases:
  - name: canary
    hosts: [web-01]
  - name: rest
    batch: 2
`

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeployPublishes(t *testing.T) {
	a := startAPI(t)
	code, out, errOut := a.run("deploy", "-f", writeSpec(t, goodSpec), "--id", "r-cli")
	if code != 0 || strings.TrimSpace(out) != "r-cli" {
		t.Fatalf("code %d, out %q, err %q", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := a.js.Stream(ctx, contracts.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	env, err := contracts.DecodeEnvelope(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	var req contracts.DeployRequest
	if err := env.DecodeData(contracts.TypeDeployRequest, &req); err != nil {
		t.Fatal(err)
	}
	if req.ID != "r-cli" || req.App != "web" || req.Environment != "qa" || len(req.Phases) != 2 || req.RequestedBy != "tester" {
		t.Fatalf("published %+v", req)
	}

	// Again: the broker drops the repeat and the CLI says so; -o json
	// prints the API's answer as it is.
	code, out, _ = a.run("deploy", "-f", writeSpec(t, goodSpec), "--id", "r-cli", "-o", "json")
	var rc struct {
		Rollout   string `json:"rollout"`
		Duplicate bool   `json:"duplicate"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rc) != nil || rc.Rollout != "r-cli" || !rc.Duplicate {
		t.Fatalf("repeat: code %d, out %q", code, out)
	}

	// Without an id the API makes one up.
	code, out, _ = a.run("deploy", "-f", writeSpec(t, goodSpec))
	if code != 0 || !strings.HasPrefix(out, "r-") {
		t.Fatalf("no id: code %d, out %q", code, out)
	}
}

func TestDeployBadSpecNamesTheField(t *testing.T) {
	a := startAPI(t)
	tests := []struct{ name, spec, want string }{
		{"bad batch", strings.Replace(goodSpec, "batch: 2", "batch: 0", 1), "error: phases[1].batch: "},
		{"unknown field", goodSpec + "colour: red\n", "error: colour: "},
		{"bad version", strings.Replace(goodSpec, "2.4.1", "\"2.4.1; rm -rf /\"", 1), "error: version: "},
		{"missing environment", strings.Replace(goodSpec, "environment: qa\n", "", 1), "error: environment: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := a.run("deploy", "-f", writeSpec(t, tt.spec))
			if code != exitFailed || !strings.Contains(errOut, tt.want) || out != "" {
				t.Fatalf("code %d, out %q, stderr %q; want %q", code, out, errOut, tt.want)
			}
		})
	}
	code, _, errOut := a.run("deploy", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitFailed || !strings.Contains(errOut, "missing.yaml") {
		t.Fatalf("missing file: code %d, stderr %q", code, errOut)
	}
	if n := streamMsgs(t, a.js, contracts.StreamRequests); n != 0 {
		t.Fatalf("REQUESTS holds %d messages", n)
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestDeployDryRunPrintsThePlan(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APIPlannerPreview, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		if req.Environment == "nowhere" {
			return contracts.PreviewReply{Reasons: []contracts.FieldError{
				{Field: "environment", Message: `no environment "nowhere"`},
				{Field: "phases[0].hosts[0]", Message: `no host "web-01"`},
			}}, nil
		}
		return contracts.PreviewReply{Plan: &contracts.Plan{Rollout: req.ID, App: req.App, Version: req.Version,
			Environment: req.Environment, Strategy: contracts.StrategyRolling, OnFailure: contracts.OnFailurePause,
			Phases: []contracts.PlannedPhase{
				{Name: "canary", Batches: [][]string{{"web-01"}}},
				{Name: "rest", Batches: [][]string{{"web-02", "web-03"}, {"web-04"}}},
			}}}, nil
	})
	code, out, errOut := a.run("deploy", "--dry-run", "-f", writeSpec(t, goodSpec), "--id", "r-plan")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"Plan for r-plan: web@2.4.1 to qa (rolling), 4 hosts in 2 phases",
		"PHASE  NAME    BATCH  SIZE  HOSTS           CHECKS",
		"0      canary  1/1    1     web-01          -",
		"1      rest    1/2    2     web-02, web-03  -",
		"               2/2    1     web-04          -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := streamMsgs(t, a.js, contracts.StreamRequests); n != 0 {
		t.Fatalf("a dry run published %d requests", n)
	}

	code, _, errOut = a.run("deploy", "--dry-run", "-f", writeSpec(t, strings.Replace(goodSpec, "qa", "nowhere", 1)))
	if code != exitFailed || !strings.Contains(errOut, `error: environment: no environment "nowhere"`) ||
		!strings.Contains(errOut, `error: phases[0].hosts[0]: no host "web-01"`) {
		t.Fatalf("rejected plan: code %d, stderr %q", code, errOut)
	}
}

func TestDeployWaitAndWatchExitByOutcome(t *testing.T) {
	a := startAPI(t)
	a.publishRollout("r-ok", contracts.StateCompleted)
	a.publishRollout("r-bad", contracts.StateFailed)

	code, out, errOut := a.run("deploy", "-f", writeSpec(t, goodSpec), "--id", "r-ok", "--wait")
	if code != 0 {
		t.Fatalf("completed: code %d, out %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{"r-ok\n", "planned", "web-01 (phase 0 all batch 1) succeeded", "completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = a.run("watch", "r-bad")
	if code != exitFailed || !strings.Contains(out, "web-02 (phase 0 all batch 1) failed in 0s: exit status 3") ||
		!strings.Contains(errOut, "error: rollout r-bad failed: 1 host failed") {
		t.Fatalf("failed: code %d, out %q, stderr %q", code, out, errOut)
	}

	code, out, _ = a.run("watch", "r-ok", "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("json: code %d, %d lines:\n%s", code, len(lines), out)
	}
	for _, l := range lines {
		if _, err := contracts.DecodeEnvelope([]byte(l)); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
}

func TestListAndGet(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APISchedulerList, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutListQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.RolloutList{Rollouts: []contracts.RolloutSummary{{
			Rollout: "r-1", App: "web", Version: "2.4.1", Environment: q.Environment, State: contracts.StateRunning,
			Phase: 1, Counts: contracts.Counts{Total: 10, Succeeded: 4, Failed: 1}, UpdatedAt: "2026-01-01T10:00:00Z",
		}}}, nil
	})
	a.respond(contracts.APISchedulerGet, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutQuery
		_ = json.Unmarshal(m.Data, &q)
		if q.Rollout != "r-1" {
			return nil, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", q.Rollout)
		}
		return contracts.RolloutView{
			RolloutSummary: contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod",
				State: contracts.StateRunning, Counts: contracts.Counts{Total: 2, Succeeded: 1, Failed: 1}},
			RequestedBy: "ann",
			Phases: []contracts.PhaseView{{Index: 0, Name: "canary", State: "running", Batches: 1, Hosts: []contracts.HostView{
				{Name: "web-01", Batch: 1, State: "succeeded", Attempt: 1},
				{Name: "web-02", Batch: 1, State: "failed", Attempt: 2, Error: "exit status 3\nsee log"},
			}}},
		}, nil
	})

	code, out, errOut := a.run("list", "--env", "prod", "--state", "running")
	if code != 0 {
		t.Fatalf("list: code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"ROLLOUT  APP  VERSION  ENVIRONMENT  STATE    PHASE  HOSTS            UPDATED",
		"r-1      web  2.4.1    prod         running  1      4/10 (1 failed)  ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = a.run("list", "-o", "json")
	var l contracts.RolloutList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Rollouts) != 1 {
		t.Fatalf("list json: code %d, out %q", code, out)
	}

	code, out, errOut = a.run("get", "r-1")
	if code != 0 {
		t.Fatalf("get: code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"State:         running",
		"Hosts:         2 total, 1 succeeded, 1 failed, 0 running, 0 pending",
		"Requested by:  ann",
		"0      canary  running  1        2",
		"web-02  canary  1      failed     2        exit status 3 see log",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	code, _, errOut = a.run("get", "r-2")
	if code != exitFailed || strings.TrimSpace(errOut) != `error: no rollout "r-2"` {
		t.Fatalf("get missing: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = a.run("list", "--state", "bored")
	if code != exitFailed || !strings.HasPrefix(errOut, "error: state: must be one of") {
		t.Fatalf("bad state: code %d, stderr %q", code, errOut)
	}
}

func TestControlVerbs(t *testing.T) {
	a := startAPI(t)
	got := make(chan contracts.ControlCommand, 1)
	a.respond(contracts.ControlSubject("r-1", contracts.VerbPause), func(m *nats.Msg) (any, *contracts.Error) {
		var cmd contracts.ControlCommand
		_ = json.Unmarshal(m.Data, &cmd)
		got <- cmd
		return contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod",
			State: contracts.StatePaused, Counts: contracts.Counts{Total: 4, Succeeded: 2}}, nil
	})
	a.respond(contracts.ControlSubject("r-2", contracts.VerbPause), func(*nats.Msg) (any, *contracts.Error) {
		return nil, &contracts.Error{Code: contracts.CodeInvalidState, Message: "rollout r-2 is completed; it cannot be paused"}
	})
	code, out, errOut := a.run("pause", "r-1", "--reason", "db migration")
	if code != 0 || strings.TrimSpace(out) != "r-1: paused (web@2.4.1 in prod, hosts 2/4)" {
		t.Fatalf("pause: code %d, out %q, stderr %q", code, out, errOut)
	}
	if cmd := <-got; cmd.Actor != "tester" || cmd.Reason != "db migration" {
		t.Fatalf("command = %+v", cmd)
	}
	code, _, errOut = a.run("pause", "r-2")
	if code != exitFailed || strings.TrimSpace(errOut) != "error: rollout r-2 is completed; it cannot be paused" {
		t.Fatalf("pause 409: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = a.run("abort", "r-1")
	if code != exitFailed || !strings.Contains(errOut, "unavailable") && !strings.Contains(errOut, "nobody answers") {
		t.Fatalf("abort without scheduler: code %d, stderr %q", code, errOut)
	}
}

func TestEventsWithoutFollowEnds(t *testing.T) {
	a := startAPI(t)
	a.publishRollout("r-1", contracts.StateCompleted)
	a.publishRollout("r-2", contracts.StateFailed)

	code, out, errOut := a.run("events", "--rollout", "r-1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("code %d, stderr %q, out:\n%s", code, errOut, out)
	}
	if !strings.HasPrefix(lines[0], "1  ") || !strings.Contains(lines[0], "qa/r-1  planned  web@2.4.1, 2 hosts in 1 phases") {
		t.Fatalf("first line %q", lines[0])
	}
	code, out, _ = a.run("events", "--type", "failed", "-o", "json")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"rollout":"r-2"`) {
		t.Fatalf("json: code %d, out %q", code, out)
	}
	code, out, _ = a.run("events", "--env", "prod")
	if code != 0 || out != "" {
		t.Fatalf("nothing: code %d, out %q", code, out)
	}
}

func TestCalendarAndInventory(t *testing.T) {
	a := startAPI(t)
	start := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	a.respond(contracts.APICalendarAdd, func(m *nats.Msg) (any, *contracts.Error) {
		var in contracts.WindowInput
		_ = json.Unmarshal(m.Data, &in)
		return contracts.Window{ID: "w-1", Environment: in.Environment, Kind: in.Kind, Start: start, End: start.Add(48 * time.Hour),
			TimeZone: in.TimeZone, Reason: in.Reason, CreatedBy: in.CreatedBy}, nil
	})
	a.respond(contracts.APICalendarList, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.WindowList{Windows: []contracts.Window{{ID: "w-1", Environment: "prod", Kind: contracts.WindowFreeze,
			Start: start, End: start.Add(48 * time.Hour), Reason: "holidays"}}}, nil
	})
	a.respond(contracts.APICalendarRemove, func(m *nats.Msg) (any, *contracts.Error) { return struct{}{}, nil })
	a.respond(contracts.APIDiscoveryInventory, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.Inventory{Environments: []contracts.Environment{{Name: "prod", Hosts: []contracts.Host{{
			Name: "web-01", Address: "10.0.0.1", Groups: []string{"east"},
			Versions: map[string]contracts.HostVersion{"web": {Version: "2.4.0"}},
		}}}}}, nil
	})

	code, out, errOut := a.run("calendar", "add", "--env", "prod", "--start", "2026-12-24T00:00", "--end", "2026-12-26T00:00", "--reason", "holidays")
	if code != 0 || strings.TrimSpace(out) != "w-1: prod freeze from 2026-12-24T00:00:00Z to 2026-12-26T00:00:00Z" {
		t.Fatalf("add: code %d, out %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = a.run("calendar", "add", "--env", "prod", "--start", "2026-12-24T00:00")
	if code != exitUsage || !strings.Contains(errOut, "--end is required") {
		t.Fatalf("add without end: code %d, stderr %q", code, errOut)
	}
	code, out, _ = a.run("calendar", "list")
	if code != 0 || !strings.Contains(out, "w-1  prod         freeze  2026-12-24T00:00:00Z  2026-12-26T00:00:00Z  -         holidays") {
		t.Fatalf("list: code %d, out:\n%s", code, out)
	}
	code, out, _ = a.run("calendar", "rm", "w-1")
	if code != 0 || strings.TrimSpace(out) != "removed w-1" {
		t.Fatalf("rm: code %d, out %q", code, out)
	}
	code, out, _ = a.run("inventory", "--env", "prod")
	if code != 0 || !strings.Contains(out, "prod         web-01  10.0.0.1  east    default  -         2.4.0") {
		t.Fatalf("inventory: code %d, out:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	a := startAPI(t)
	tests := [][]string{
		{"explode"},
		{"deploy"},
		{"deploy", "-f", "x.yaml", "--dry-run", "--wait"},
		{"get"},
		{"get", "r-1", "r-2"},
		{"list", "--bogus"},
		{"list", "-o", "xml"},
		{"get", "a.b"},
		{"deploy", "-f", "x.yaml", "--id", "has space"},
	}
	for _, args := range tests {
		code, _, errOut := a.run(args...)
		if code != exitUsage || !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%v: code %d, stderr %q", args, code, errOut)
		}
	}
}

func TestUnreachableAPI(t *testing.T) {
	var out, errOut bytes.Buffer
	// Port 1 on loopback: nothing listens there.
	code := execute(context.Background(), []string{"--api", "http://127.0.0.1:1", "list"}, strings.NewReader(""), &out, &errOut)
	if code != exitFailed || !strings.Contains(errOut.String(), "cannot reach the Rollwave API at http://127.0.0.1:1") {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
}

// TestWaitSettlesOnPauseAndTimesOut: a CI job following a rollout never
// hangs: a rollout that is paused now exits 3, a paused event from history
// does not end the wait, and --timeout exits 4.
func TestWaitSettlesOnPauseAndTimesOut(t *testing.T) {
	a := startAPI(t)
	current := map[string]contracts.State{"r-paused": contracts.StatePaused, "r-resumed": contracts.StateCompleted,
		"r-slow": contracts.StateRunning}
	a.respond(contracts.APISchedulerGet, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: q.Rollout, State: current[q.Rollout]}}, nil
	})
	pause := func(id string, seq int64) {
		a.publishEvent(contracts.EventPaused, contracts.Event{Rollout: id, Environment: "qa", Seq: seq,
			State: contracts.StatePaused, Reason: "1 host failed, more than max_failed 0"})
	}
	base := func(id string) {
		a.publishEvent(contracts.EventStarted, contracts.Event{Rollout: id, Environment: "qa", Seq: 1, State: contracts.StateRunning})
	}

	base("r-paused")
	pause("r-paused", 2)
	code, _, errOut := a.run("watch", "r-paused")
	if code != exitSettled || !strings.Contains(errOut, "paused and waits for an operator") ||
		!strings.Contains(errOut, "more than max_failed 0") {
		t.Fatalf("paused: code %d, stderr %q", code, errOut)
	}

	// Paused once, resumed, completed: the replayed pause must not end it.
	base("r-resumed")
	pause("r-resumed", 2)
	a.publishEvent(contracts.EventResumed, contracts.Event{Rollout: "r-resumed", Environment: "qa", Seq: 3, State: contracts.StateRunning})
	a.publishEvent(contracts.EventCompleted, contracts.Event{Rollout: "r-resumed", Environment: "qa", Seq: 4, State: contracts.StateCompleted})
	if code, out, errOut := a.run("watch", "r-resumed"); code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("resumed: code %d, out %q, stderr %q", code, out, errOut)
	}

	base("r-slow")
	code, _, errOut = a.run("watch", "r-slow", "--timeout", "300ms")
	if code != exitTimedOut || !strings.Contains(errOut, "had not settled within --timeout 300ms") {
		t.Fatalf("timeout: code %d, stderr %q", code, errOut)
	}

	if code, _, errOut := a.run("deploy", "-f", writeSpec(t, goodSpec), "--timeout", "1m"); code != exitUsage ||
		!strings.Contains(errOut, "--timeout needs --wait") {
		t.Fatalf("timeout without wait: code %d, stderr %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	a := startAPI(t)
	code, out, errOut := a.run("version")
	if code != 0 || !strings.HasPrefix(out, "rollwave ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: code %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, _ = a.run("version", "-o", "json")
	var v buildinfo.Info
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Go == "" || v.Version == "" {
		t.Fatalf("version -o json: code %d, out %q, err %v", code, out, err)
	}
	code, out, _ = a.run("--version")
	if code != 0 || !strings.Contains(out, "go1.") {
		t.Fatalf("--version: code %d, out %q", code, out)
	}
}

// TestJSONOutputErrorsAreJSON: with -o json a script parses failures too.
func TestJSONOutputErrorsAreJSON(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APISchedulerGet, func(m *nats.Msg) (any, *contracts.Error) {
		return nil, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", "r-9")
	})
	cases := []struct {
		args     []string
		exit     int
		code     contracts.Code
		field    string
		contains string
	}{
		{[]string{"get", "r-9", "-o", "json"}, exitFailed, contracts.CodeNotFound, "", `no rollout \"r-9\"`},
		{[]string{"get", "a.b", "-o", "json"}, exitUsage, contracts.CodeInvalid, "rollout", "must be 1-128"},
		{[]string{"get", "-o", "json"}, exitUsage, "usage", "", "accepts 1 arg"},
		{[]string{"deploy", "-f", writeSpec(t, "app: web\nversion: 1\nenvironment: qa\n"), "-o", "json"}, exitFailed, contracts.CodeInvalid, "version", "line 2"},
	}
	for _, c := range cases {
		code, _, errOut := a.run(c.args...)
		var got jsonError
		if err := json.Unmarshal([]byte(errOut), &got); err != nil {
			t.Errorf("%v: stderr is not JSON: %q", c.args, errOut)
			continue
		}
		if code != c.exit || got.ExitCode != c.exit || got.Code != c.code || got.Field != c.field || !strings.Contains(errOut, c.contains) {
			t.Errorf("%v: code %d, stderr %s", c.args, code, errOut)
		}
	}
}

func TestEnvBool(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "TRUE": true} {
		t.Setenv("ROLLWAVE_TEST_BOOL", v)
		if got, err := envBool("ROLLWAVE_TEST_BOOL"); err != nil || got != want {
			t.Errorf("%q: %v, %v", v, got, err)
		}
	}
	t.Setenv("ROLLWAVE_TEST_BOOL", "yes please")
	if _, err := envBool("ROLLWAVE_TEST_BOOL"); err == nil || !strings.Contains(err.Error(), "ROLLWAVE_TEST_BOOL must be true or false") {
		t.Fatalf("bad value: %v", err)
	}
	// dev refuses to start on it, naming the variable.
	t.Setenv("ROLLWAVE_LOG_JSON", "yes please")
	var out, errOut bytes.Buffer
	code := execute(context.Background(), []string{"dev", "--data", t.TempDir()}, strings.NewReader(""), &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "ROLLWAVE_LOG_JSON") {
		t.Fatalf("dev with a bad ROLLWAVE_LOG_JSON: code %d, stderr %q", code, errOut.String())
	}
}

func TestAgesAreHumanReadable(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for ts, want := range map[string]string{
		"2026-12-01T11:59:15.123456789Z": "44s ago",
		"2026-12-01T11:48:00Z":           "12m ago",
		"2026-12-01T07:00:00Z":           "5h ago",
		"2026-11-28T12:00:00Z":           "3d ago",
		"2026-12-01T12:00:05Z":           "0s ago",
		"not a time":                     "not a time",
		"":                               "-",
	} {
		if got := age(ts, now); got != want {
			t.Errorf("age(%q) = %q, want %q", ts, got, want)
		}
	}
	if got := stamp("2026-12-01T11:48:00.5Z", now); !strings.HasSuffix(got, "(11m ago)") || strings.Contains(got, ".5") {
		t.Errorf("stamp = %q", got)
	}
}

func TestYAMLOutput(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APISchedulerGet, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutQuery
		_ = json.Unmarshal(m.Data, &q)
		if q.Rollout != "r-1" {
			return nil, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", q.Rollout)
		}
		return contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: "r-1", App: "web", Version: "1.10",
			Environment: "prod", State: contracts.StateRunning}}, nil
	})
	code, out, errOut := a.run("get", "r-1", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "rollout: r-1\n") || !strings.Contains(out, "state: running\n") ||
		!strings.Contains(out, `version: "1.10"`) || strings.Contains(out, "{") {
		t.Fatalf("get -o yaml: code %d, out %q, stderr %q", code, out, errOut)
	}
	var v map[string]any
	if err := yaml.Unmarshal([]byte(out), &v); err != nil || v["rollout"] != "r-1" || v["version"] != "1.10" {
		t.Fatalf("the YAML does not read back: %v %+v", err, v)
	}
	code, _, errOut = a.run("get", "r-2", "-o", "yaml")
	if code != exitFailed || !strings.Contains(errOut, "code: not_found\n") {
		t.Fatalf("error -o yaml: code %d, stderr %q", code, errOut)
	}
	a.publishRollout("r-ok", contracts.StateCompleted)
	code, out, _ = a.run("watch", "r-ok", "-o", "yaml")
	if code != 0 || strings.Count(out, "---\n") != 4 {
		t.Fatalf("watch -o yaml: code %d, want 5 documents:\n%s", code, out)
	}
	if code, _, _ := a.run("get", "r-1", "-o", "xml"); code != exitUsage {
		t.Fatalf("-o xml: code %d", code)
	}
}

// TestDynamicCompletion: tab completes rollout ids, window ids and
// environments from the API.
func TestDynamicCompletion(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APISchedulerList, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.RolloutList{Rollouts: []contracts.RolloutSummary{
			{Rollout: "r-1", App: "web", Version: "2.4.1", Environment: "prod", State: contracts.StateRunning}}}, nil
	})
	a.respond(contracts.APIDiscoveryInventory, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.Inventory{Environments: []contracts.Environment{{Name: "qa"}, {Name: "production"}}}, nil
	})
	a.respond(contracts.APICalendarList, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.WindowList{Windows: []contracts.Window{{ID: "w-7", Environment: "prod", Kind: "freeze", Reason: "holidays"}}}, nil
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "get", ""}, "r-1\tweb@2.4.1 in prod, running"},
		{[]string{"__complete", "pause", ""}, "r-1\t"},
		{[]string{"__complete", "list", "--env", ""}, "production\t0 hosts"},
		{[]string{"__complete", "calendar", "rm", ""}, "w-7\tfreeze prod holidays"},
	} {
		code, out, errOut := a.run(c.args...)
		if code != 0 || !strings.Contains(out, c.want) || !strings.Contains(out, ":4\n") {
			t.Errorf("%v: code %d, out %q, stderr %q", c.args, code, out, errOut)
		}
	}
}

// Every command's help shows examples, as its peers' (kubectl, gh) do.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return // internal: sample-app, healthcheck
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Name() == "help" {
			return // cobra's own: `rollwave help deploy` is the example
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no examples in its help", c.CommandPath())
			return
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "rollwave ") &&
				!strings.HasPrefix(l, "source ") && !strings.HasPrefix(l, "OTEL_") && !strings.HasPrefix(l, "ROLLWAVE_") {
				t.Errorf("%q: example line %q does not run rollwave", c.CommandPath(), l)
			}
		}
	}
	walk(newRootCmd())
}
