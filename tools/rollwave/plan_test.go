package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestPlanPreview(t *testing.T) {
	a := startAPI(t)
	until := time.Now().Add(90 * time.Minute)
	a.respond(contracts.APIPlannerPreview, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		if req.Environment == "nowhere" {
			return contracts.PreviewReply{Reasons: []contracts.FieldError{{Field: "environment", Message: `no environment "nowhere"`}}}, nil
		}
		return contracts.PreviewReply{
			Plan: &contracts.Plan{Rollout: req.ID, App: req.App, Version: req.Version, Environment: req.Environment,
				Strategy: contracts.StrategyRolling, OnFailure: contracts.OnFailurePause,
				Checks: map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/healthz", Status: 200}}},
				Phases: []contracts.PlannedPhase{
					{Name: "canary", Batches: [][]string{{"web-01"}}, Checks: []string{"healthz"},
						Gate: &contracts.PlannedGate{After: true, Timeout: contracts.Duration(time.Hour), OnTimeout: contracts.GateApprove}},
					{Name: "rest", Batches: [][]string{{"web-02", "web-03"}, {"web-04"}}},
				}},
			Calendar: []contracts.PreviewCalendar{{When: "now", At: time.Now(), Until: &until,
				Window: &contracts.Window{ID: "w-1", Kind: contracts.WindowFreeze, Reason: "black friday"}}},
			Estimate: &contracts.Estimate{Samples: 4, Batches: 3, PerBatch: contracts.Duration(2 * time.Minute), Duration: contracts.Duration(6 * time.Minute)},
		}, nil
	})
	code, out, errOut := a.run("plan", "-f", writeSpec(t, goodSpec), "--id", "r-plan")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"Plan for r-plan: web@2.4.1 to qa (rolling), 4 hosts in 2 phases",
		"0      canary  1/1    1     web-01          healthz",
		"               2/2    1     web-04          -",
		"canary: manual approval after; approve after 1h0m0s",
		"healthz: http http://{{.Host.Address}}/healthz expects 200",
		"blocked by freeze w-1 (black friday) until",
		"(in 1h)",
		"Estimate: about 6m: 3 batches at 2m0s each, the mean of the last 4 completed rollouts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = a.run("plan", "-f", writeSpec(t, goodSpec), "-o", "json")
	var pr contracts.PreviewReply
	if code != 0 || json.Unmarshal([]byte(out), &pr) != nil || pr.Estimate == nil || len(pr.Calendar) != 1 || pr.Plan == nil {
		t.Fatalf("-o json: %d %s", code, out)
	}
	if n := streamMsgs(t, a.js, contracts.StreamRequests); n != 0 {
		t.Fatalf("plan published %d requests", n)
	}
	code, _, errOut = a.run("plan", "-f", writeSpec(t, strings.Replace(goodSpec, "qa", "nowhere", 1)))
	if code != exitFailed || !strings.Contains(errOut, `environment: no environment "nowhere"`) {
		t.Fatalf("rejected: %d %q", code, errOut)
	}
	if code, _, _ := a.run("plan"); code != exitUsage {
		t.Fatalf("no -f: exit %d", code)
	}
}

func TestPreviewWithoutHistoryOrCalendar(t *testing.T) {
	var b bytes.Buffer
	printPreview(&b, contracts.PreviewReply{
		Plan:     &contracts.Plan{App: "web", Environment: "qa", Phases: []contracts.PlannedPhase{{Name: "all", Batches: [][]string{{"a"}}}}},
		Calendar: []contracts.PreviewCalendar{{When: "now", Unavailable: "the calendar did not answer: no calendar service is running"}},
		Estimate: &contracts.Estimate{Batches: 1},
	}, time.Now())
	for _, want := range []string{"Gates:\n  none", "Checks:\n  none", "unknown: the calendar did not answer", "Estimate: no history of web in qa to go by (1 batches)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
