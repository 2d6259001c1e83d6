package inbound

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func plan() contracts.Plan {
	return contracts.Plan{
		Rollout: "r1", App: "web", Version: "2.0.0", Environment: "prod",
		Phases:    []contracts.PlannedPhase{{Name: "all", Batches: [][]string{{"h1", "h2"}}}},
		Hosts:     map[string]contracts.PlannedHost{"h1": {Name: "h1"}, "h2": {Name: "h2", Pool: "east"}},
		MaxFailed: 1, OnFailure: contracts.OnFailurePause,
	}
}

func plannedMsg(t testing.TB, change func(*contracts.Event)) []byte {
	p := plan()
	ev := contracts.Event{Rollout: "r1", Environment: "prod", App: "web", Version: "2.0.0", State: contracts.StatePlanned, Plan: &p}
	if change != nil {
		change(&ev)
	}
	b, err := contracts.Marshal(contracts.EventTypeID(contracts.EventPlanned), contracts.PlannedMsgID("r1"), "rollwave/planner", "r1", t0, ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func resultMsg(t testing.TB, change func(*contracts.HostResult)) []byte {
	res := contracts.HostResult{ActionID: "r1/0/h1/attempt-1", Rollout: "r1", Environment: "prod", Host: "h1",
		Phase: contracts.PhaseRef{Index: 0, Name: "all"}, Batch: 1, Attempt: 1, Status: contracts.ResultSucceeded}
	if change != nil {
		change(&res)
	}
	b, err := contracts.Marshal(contracts.TypeHostResult, contracts.ResultMsgID(res.ActionID), "rollwave/executor", "h1", t0, res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var plannedSubject = contracts.EventSubject("prod", "r1", contracts.EventPlanned)

func goodRef() *contracts.PlanRef {
	return &contracts.PlanRef{Bucket: contracts.PlansBucket, Object: "r1", Size: 300000, SHA256: contracts.PlanDigest([]byte("plan"))}
}

func TestPlanned(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		data    []byte
		field   string
	}{
		{"ok", plannedSubject, plannedMsg(t, nil), ""},
		{"by reference", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.Plan, e.PlanRef = nil, goodRef() }), ""},
		{"not json", plannedSubject, []byte("{"), ""},
		{"no plan", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.Plan = nil }), "plan"},
		{"plan of another rollout", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.Plan.Rollout = "r2" }), "plan.rollout"},
		{"plan of another environment", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.Plan.Environment = "qa" }), "plan.environment"},
		{"bad plan", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.Plan.Phases[0].Batches[0][1] = "h9" }), "plan.phases[0].batches[0][1]"},
		{"wrong subject", contracts.EventSubject("prod", "r2", contracts.EventPlanned), plannedMsg(t, nil), "subject"},
		{"plan and reference", plannedSubject, plannedMsg(t, func(e *contracts.Event) { e.PlanRef = goodRef() }), "plan_ref"},
		{"reference to another rollout", plannedSubject, plannedMsg(t, func(e *contracts.Event) {
			e.Plan, e.PlanRef = nil, goodRef()
			e.PlanRef.Object = "r2"
		}), "plan_ref.object"},
		{"reference without digest", plannedSubject, plannedMsg(t, func(e *contracts.Event) {
			e.Plan, e.PlanRef = nil, goodRef()
			e.PlanRef.SHA256 = ""
		}), "plan_ref.sha256"},
		{"reference on the wrong subject", contracts.EventSubject("prod", "r2", contracts.EventPlanned),
			plannedMsg(t, func(e *contracts.Event) { e.Plan, e.PlanRef = nil, goodRef() }), "subject"},
		{"wrong type", plannedSubject, resultMsg(t, nil), "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Planned(tt.subject, tt.data)
			if tt.name == "ok" {
				if err != nil || ev.Plan == nil || ev.Plan.Hosts["h2"].Pool != "east" {
					t.Fatalf("Planned = %+v, %v", ev, err)
				}
				return
			}
			if tt.name == "by reference" {
				if err != nil || ev.Plan != nil || ev.PlanRef == nil {
					t.Fatalf("Planned = %+v, %v", ev, err)
				}
				return
			}
			ce := contracts.AsError(err)
			if ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != tt.field {
				t.Fatalf("err = %#v, want invalid %q", ce, tt.field)
			}
		})
	}
}

func TestResult(t *testing.T) {
	subject := contracts.ResultSubject("prod", "r1")
	tests := []struct {
		name    string
		subject string
		change  func(*contracts.HostResult)
		field   string
	}{
		{"ok", subject, nil, ""},
		{"no action id", subject, func(r *contracts.HostResult) { r.ActionID = "" }, "action_id"},
		{"bad rollout", subject, func(r *contracts.HostResult) { r.Rollout = "a.b" }, "rollout"},
		{"bad environment", subject, func(r *contracts.HostResult) { r.Environment = "" }, "environment"},
		{"no host", subject, func(r *contracts.HostResult) { r.Host = "" }, "host"},
		{"attempt 0", subject, func(r *contracts.HostResult) { r.Attempt = 0 }, "attempt"},
		{"batch 0", subject, func(r *contracts.HostResult) { r.Batch = 0 }, "batch"},
		{"negative phase", subject, func(r *contracts.HostResult) { r.Phase.Index = -1 }, "phase.index"},
		{"status", subject, func(r *contracts.HostResult) { r.Status = "meh" }, "status"},
		{"wrong subject", contracts.ResultSubject("qa", "r1"), nil, "subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Result(tt.subject, resultMsg(t, tt.change))
			if tt.field == "" {
				if err != nil || res.Host != "h1" {
					t.Fatalf("Result = %+v, %v", res, err)
				}
				return
			}
			ce := contracts.AsError(err)
			if ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != tt.field {
				t.Fatalf("err = %#v, want invalid %q", ce, tt.field)
			}
		})
	}
	// A cancelled host (rollout aborted while it ran) is terminal and not
	// a success: the rollout sees it as failed.
	res, err := Result(subject, resultMsg(t, func(r *contracts.HostResult) { r.Status = contracts.ResultCancelled }))
	if err != nil || res.Status != contracts.ResultFailed {
		t.Fatalf("cancelled: Result = %q, %v; want failed", res.Status, err)
	}
	var unknown map[string]any
	_ = json.Unmarshal(resultMsg(t, nil), &unknown)
	unknown["data"].(map[string]any)["surprise"] = 1
	b, _ := json.Marshal(unknown)
	// A newer executor's field is skipped, not a reason to drop the result.
	if res, err := Result(subject, b); err != nil || res.Host != "h1" {
		t.Fatalf("unknown field: %+v, %v", res, err)
	}
}

func TestCommand(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		body    string
		field   string
	}{
		{"ok", contracts.ControlSubject("r1", contracts.VerbPause), `{"actor":"alice","reason":"look"}`, ""},
		{"empty body", contracts.ControlSubject("r1", contracts.VerbAbort), ``, ""},
		{"unknown verb", "rollwave.control.r1.explode", `{}`, "verb"},
		{"not control", "rollwave.events.r1.pause", `{}`, "subject"},
		{"bad rollout", "rollwave.control.-r.pause", `{}`, "rollout"},
		{"unknown field", contracts.ControlSubject("r1", contracts.VerbPause), `{"who":"x"}`, "who"},
		{"bad json", contracts.ControlSubject("r1", contracts.VerbPause), `{"actor":`, ""},
		{"long actor", contracts.ControlSubject("r1", contracts.VerbPause), `{"actor":"` + strings.Repeat("a", MaxActorLen+1) + `"}`, "actor"},
		{"long reason", contracts.ControlSubject("r1", contracts.VerbPause), `{"reason":"` + strings.Repeat("a", MaxReasonLen+1) + `"}`, "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, verb, cmd, err := Command(tt.subject, []byte(tt.body))
			if tt.name == "ok" || tt.name == "empty body" {
				if err != nil || id != "r1" || verb == "" {
					t.Fatalf("Command = %q %q %+v %v", id, verb, cmd, err)
				}
				if tt.name == "ok" && (cmd.Actor != "alice" || cmd.Reason != "look") {
					t.Fatalf("cmd = %+v", cmd)
				}
				return
			}
			ce := contracts.AsError(err)
			if ce == nil || ce.Code != contracts.CodeInvalid || ce.Field != tt.field {
				t.Fatalf("err = %#v, want invalid %q", ce, tt.field)
			}
		})
	}
}

// The fuzz tests check that no input crashes a parser, every refusal is a
// typed invalid_request error, and whatever a parser accepts the state
// machine can take.

func FuzzPlanned(f *testing.F) {
	f.Add(plannedSubject, plannedMsg(f, nil))
	f.Add(plannedSubject, plannedMsg(f, func(e *contracts.Event) { e.Plan.Phases = nil }))
	f.Add(plannedSubject, plannedMsg(f, func(e *contracts.Event) { e.Plan.Phases[0].Batches = [][]string{{"h1"}, {"h1"}} }))
	f.Add(plannedSubject, []byte(`{"specversion":"1.0","type":"io.rollwave.rollout.planned.v1","id":"x","source":"s","data":{"plan":{"max_failed":"x"}}}`))
	f.Add("rollwave.events.a.b.planned", []byte(`null`))
	f.Add(plannedSubject, plannedMsg(f, func(e *contracts.Event) { e.Plan, e.PlanRef = nil, goodRef() }))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		ev, err := Planned(subject, data)
		if err != nil {
			if c := contracts.AsError(err); c.Code != contracts.CodeInvalid {
				t.Fatalf("refusal is %s: %v", c.Code, err)
			}
			return
		}
		if ev.Plan == nil {
			// By reference: the ref was checked; the plan is fetched later.
			if ev.PlanRef == nil || contracts.CheckPlanRef("plan_ref", ev.Rollout, *ev.PlanRef) != nil {
				t.Fatalf("accepted reference %+v", ev.PlanRef)
			}
			return
		}
		r, _, err := rollout.Step(rollout.Rollout{}, rollout.Input{Planned: &rollout.Planned{Plan: *ev.Plan, Order: 1}}, t0)
		if err != nil || r.State != contracts.StateQueued {
			t.Fatalf("accepted plan refused by Step: %v", err)
		}
		if _, _, err := rollout.Step(r, rollout.Input{Admission: &rollout.Admission{Allowed: true}}, t0); err != nil {
			t.Fatalf("accepted plan cannot start: %v", err)
		}
	})
}

func FuzzResult(f *testing.F) {
	subject := contracts.ResultSubject("prod", "r1")
	f.Add(subject, resultMsg(f, nil))
	f.Add(subject, resultMsg(f, func(r *contracts.HostResult) { r.Status = contracts.ResultFailed; r.Error = "boom" }))
	f.Add(subject, []byte(`{"specversion":"1.0","type":"io.rollwave.host.result.v1","id":"x","source":"s","data":{"attempt":"1"}}`))
	f.Add("", []byte(``))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		res, err := Result(subject, data)
		if err != nil {
			if c := contracts.AsError(err); c.Code != contracts.CodeInvalid {
				t.Fatalf("refusal is %s: %v", c.Code, err)
			}
			return
		}
		if subject != contracts.ResultSubject(res.Environment, res.Rollout) || res.Attempt < 1 {
			t.Fatalf("accepted %+v on %q", res, subject)
		}
	})
}

func FuzzCommand(f *testing.F) {
	f.Add(contracts.ControlSubject("r1", contracts.VerbPause), []byte(`{"actor":"alice"}`))
	f.Add(contracts.ControlSubject("r1", contracts.VerbResume), []byte(``))
	f.Add("rollwave.control..abort", []byte(`{"reason":1}`))
	f.Fuzz(func(t *testing.T, subject string, body []byte) {
		id, verb, cmd, err := Command(subject, body)
		if err != nil {
			if c := contracts.AsError(err); c.Code != contracts.CodeInvalid {
				t.Fatalf("refusal is %s: %v", c.Code, err)
			}
			return
		}
		if !contracts.ValidToken(id) || len(cmd.Actor) > MaxActorLen || len(cmd.Reason) > MaxReasonLen {
			t.Fatalf("accepted %q %q %+v", id, verb, cmd)
		}
		if _, err := (rollout.Input{Command: &rollout.Command{Verb: verb}}).Kind(); err != nil {
			t.Fatalf("accepted verb %q has no kind: %v", verb, err)
		}
	})
}
