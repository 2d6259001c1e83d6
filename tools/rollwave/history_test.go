package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

func TestRolloutHistory(t *testing.T) {
	a := startAPI(t)
	started := time.Now().Add(-2 * time.Hour)
	ended := started.Add(10 * time.Minute)
	asked := make(chan contracts.RolloutHistoryQuery, 8)
	a.respond(contracts.APIPlannerHistory, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutHistoryQuery
		_ = json.Unmarshal(m.Data, &q)
		asked <- q
		return contracts.RolloutHistory{Rollouts: []contracts.RolloutRecord{
			{Rollout: "r-2", App: "web", Version: "2.5.0", Environment: "prod", Strategy: contracts.StrategyRolling, RequestedBy: "alice",
				State: contracts.StateCompleted, LifecycleOverride: "hotfix", StartedAt: &started, EndedAt: &ended},
			{Rollout: "r-1", App: "web", Version: "2.4.0", Environment: "prod", RequestedBy: "ci", State: contracts.StateFailed,
				EndReason: "3 hosts failed", StartedAt: &started},
		}}, nil
	})
	code, out, errOut := a.run("history", "--app", "web", "--env", "prod", "--limit", "2")
	if code != 0 {
		t.Fatalf("history: %d %s", code, errOut)
	}
	if q := <-asked; q != (contracts.RolloutHistoryQuery{App: "web", Environment: "prod", Limit: 2}) {
		t.Fatalf("asked %+v", q)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ROLLOUT") {
		t.Fatalf("table:\n%s", out)
	}
	for _, want := range []string{"r-2", "alice", "completed", "2h ago", "1h ago", "lifecycle overridden: hotfix"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	for _, want := range []string{"r-1", "ci", "failed", "3 hosts failed"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row %q lacks %q", lines[2], want)
		}
	}

	code, out, _ = a.run("history", "-o", "json")
	var got contracts.RolloutHistory
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Rollouts) != 2 || got.Rollouts[0].RequestedBy != "alice" {
		t.Fatalf("-o json: %d %s", code, out)
	}
	<-asked
	code, out, _ = a.run("history", "-o", "yaml")
	var y map[string]any
	if code != 0 || yaml.Unmarshal([]byte(out), &y) != nil || y["rollouts"] == nil {
		t.Fatalf("-o yaml: %d %s", code, out)
	}
	<-asked
	if code, _, _ := a.run("history", "--limit", "-1"); code != exitUsage {
		t.Fatalf("--limit -1: exit %d", code)
	}
	if code, _, errOut := a.run("history", "--app", "Web"); code != exitFailed || !strings.Contains(errOut, "app") {
		t.Fatalf("--app Web: exit %d %s", code, errOut)
	}
}

func TestRolloutHistoryEmpty(t *testing.T) {
	var b bytes.Buffer
	printRolloutHistory(&b, contracts.RolloutHistory{}, time.Now())
	if b.String() != "No rollouts.\n" {
		t.Fatalf("%q", b.String())
	}
}
