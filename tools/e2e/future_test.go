package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// fromTheFuture is what a newer producer adds during a rolling upgrade.
var fromTheFuture = map[string]any{"added_by": "a newer version", "nested": []any{1, map[string]any{"deep": true}}}

// withFuture adds a future field to the envelope's data and to the named
// objects inside it.
func withFuture(t *testing.T, envelope []byte, inside ...string) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(envelope, &env); err != nil {
		t.Fatal(err)
	}
	data := env["data"].(map[string]any)
	data["from_future_field"] = fromTheFuture
	for _, key := range inside {
		if obj, ok := data[key].(map[string]any); ok {
			obj["from_future_field"] = fromTheFuture
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A rolling upgrade: a newer planner adds fields to the planned event and a
// newer executor adds fields to its host results. The older scheduler
// still runs the rollout to the end, and discovery still records each
// host's version: nothing is dropped.
func TestNewerProducersFieldsAreSkipped(t *testing.T) {
	h := newHarness(t, harnessOpts{
		inventory: "environments:\n  - name: prod\n    driver: {sim: {}}\n    hosts:\n" +
			"      - {name: web-01, address: 10.0.0.1}\n      - {name: web-02, address: 10.0.0.2}\n",
		services: []string{"discovery", "calendar", "planner", "scheduler"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	req := contracts.DeployRequest{ID: "r-future", App: "web", Version: "3.0.0", Environment: "prod",
		Phases: []contracts.PhaseSpec{{Name: "all", Batch: contracts.BatchSpec{Steps: []contracts.Size{{Count: 1}}}}}}
	preview, err := natsx.Request[contracts.PreviewReply](ctx, h.st.NC, contracts.APIPlannerPreview, req)
	if err != nil || preview.Plan == nil {
		t.Fatalf("preview: %v %+v", err, preview)
	}
	ev := contracts.Event{Rollout: req.ID, Environment: req.Environment, App: req.App, Version: req.Version,
		State: contracts.StatePlanned, Plan: preview.Plan}
	body, err := contracts.Marshal(contracts.EventTypeID(contracts.EventPlanned), contracts.PlannedMsgID(req.ID), "rollwave/planner-next", req.ID, time.Now(), ev)
	if err != nil {
		t.Fatal(err)
	}
	m := natsx.NewMsg(ctx, contracts.EventSubject(req.Environment, req.ID, contracts.EventPlanned), contracts.PlannedMsgID(req.ID), withFuture(t, body, "plan"))
	if _, err := h.st.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	// A stand-in for a newer executor: it answers each action with a
	// result carrying fields this version does not know.
	cons, err := h.st.JS.CreateOrUpdateConsumer(ctx, contracts.StreamActions, jetstream.ConsumerConfig{
		Durable: "executor-next", FilterSubject: contracts.ActionPoolFilter(contracts.DefaultPool), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{}
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		batch, err := cons.FetchNoWait(10)
		if err != nil {
			return err
		}
		for msg := range batch.Messages() {
			a, err := contracts.DecodeHostAction(msg.Data())
			if err != nil {
				t.Fatalf("action: %v", err)
			}
			h.answer(ctx, msg.Data(), a)
			answered[a.Host.Name] = true
			_ = msg.Ack()
		}
		v, err := h.rollout(req.ID)
		if err != nil {
			return err
		}
		if v.State != contracts.StateCompleted {
			return fmt.Errorf("rollout %s, answered %v", v.State, answered)
		}
		return nil
	})
	if len(answered) != 2 {
		t.Fatalf("answered %v", answered)
	}
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		inv, err := natsx.Request[contracts.Environment](ctx, h.st.NC, contracts.APIDiscoveryTargets, contracts.TargetsQuery{Environment: "prod", App: "web"})
		if err != nil {
			return err
		}
		for _, host := range inv.Hosts {
			if host.Versions["web"].Version != "3.0.0" {
				return fmt.Errorf("discovery has %s on %+v", host.Name, host.Versions)
			}
		}
		return nil
	})
}

// answer publishes a succeeded result for an action. The result is built
// from the action's own fields, so that whatever identifies the action's
// step travels back, plus fields from the future.
func (h *harness) answer(ctx context.Context, action []byte, a contracts.HostAction) {
	h.t.Helper()
	env, err := contracts.DecodeEnvelope(action)
	if err != nil {
		h.t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(env.Data, &data); err != nil {
		h.t.Fatal(err)
	}
	for _, k := range []string{"id", "driver", "checks", "params", "previous_version"} {
		delete(data, k)
	}
	now := time.Now().UTC()
	data["action_id"], data["host"], data["status"] = a.ID, a.Host.Name, contracts.ResultSucceeded
	data["started_at"], data["finished_at"], data["executor"] = now, now, "executor-next"
	data["from_future_field"] = fromTheFuture
	body, err := contracts.Marshal(contracts.TypeHostResult, contracts.ResultMsgID(a.ID), "rollwave/executor-next", a.Rollout, now, data)
	if err != nil {
		h.t.Fatal(err)
	}
	m := natsx.NewMsg(ctx, contracts.ResultSubject(a.Environment, a.Rollout), contracts.ResultMsgID(a.ID), body)
	if _, err := h.st.JS.PublishMsg(ctx, m); err != nil {
		h.t.Fatal(err)
	}
}
