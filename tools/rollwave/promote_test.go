package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestPromote(t *testing.T) {
	a := startAPI(t)
	asked := make(chan contracts.PromoteRequest, 4)
	a.respond(contracts.APIPlannerClaim, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		return contracts.ClaimReply{Rollout: req.ID}, nil
	})
	a.respond(contracts.APIPlannerPromote, func(m *nats.Msg) (any, *contracts.Error) {
		var p contracts.PromoteRequest
		_ = json.Unmarshal(m.Data, &p)
		asked <- p
		if p.To == "prod" && p.Override == nil {
			return contracts.PromoteReply{Reasons: []contracts.FieldError{{Field: "environment", Code: contracts.CodeLifecycle,
				Message: "web@2.5.0 has not completed in staging"}}}, nil
		}
		return contracts.PromoteReply{From: "r-qa", FromEnvironment: "qa", Request: contracts.DeployRequest{
			ID: p.ID, App: p.App, Version: p.Version, Environment: p.To, RequestedBy: p.RequestedBy, Override: p.Override,
			Phases: []contracts.PhaseSpec{{Name: "all"}}}}, nil
	})

	code, out, errOut := a.run("promote", "web", "2.5.0", "--to", "staging", "--id", "r-stg")
	if code != 0 || strings.TrimSpace(out) != "r-stg (spec of r-qa in qa)" {
		t.Fatalf("promote: %d %q %q", code, out, errOut)
	}
	if p := <-asked; p.App != "web" || p.Version != "2.5.0" || p.To != "staging" || p.RequestedBy != "tester" || p.Override != nil {
		t.Fatalf("asked %+v", p)
	}

	code, _, errOut = a.run("promote", "web", "2.5.0", "--to", "prod")
	if code != exitFailed || !strings.Contains(errOut, "has not completed in staging") {
		t.Fatalf("refused promote: %d %q", code, errOut)
	}
	<-asked

	code, out, _ = a.run("promote", "web", "2.5.0", "--to", "prod", "--override-lifecycle", "--reason", "hotfix", "-o", "json")
	var rc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rc) != nil || rc["from"] != "r-qa" {
		t.Fatalf("override: %d %s", code, out)
	}
	if p := <-asked; p.Override == nil || p.Override.Reason != "hotfix" || p.Reason != "hotfix" {
		t.Fatalf("asked %+v", p)
	}

	for _, args := range [][]string{
		{"promote", "web", "2.5.0"},
		{"promote", "web", "--to", "prod"},
		{"promote", "web", "2.5.0", "--to", "prod", "--override-lifecycle"},
		{"promote", "web", "2.5.0", "--to", "prod.x"},
		{"promote", "web", "2.5.0", "--to", "prod", "--timeout", "1m"},
	} {
		if code, _, _ := a.run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if len(asked) != 0 {
		t.Fatal("a bad command line reached the API")
	}
}

func TestPromoteCompletesTheTargetEnvironment(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APIDiscoveryInventory, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.Inventory{Environments: []contracts.Environment{{Name: "qa"}, {Name: "production"}}}, nil
	})
	for _, args := range [][]string{{"__complete", "promote", "web", "1.0.0", "--to", ""}, {"__complete", "history", "--env", ""}} {
		code, out, errOut := a.run(args...)
		if code != 0 || !strings.Contains(out, "production\t") || !strings.Contains(out, ":4\n") {
			t.Errorf("%v: code %d, out %q, stderr %q", args, code, out, errOut)
		}
	}
}
