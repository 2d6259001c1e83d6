package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestPrintRolloutShowsStepKindsAndRollback(t *testing.T) {
	var b bytes.Buffer
	v := contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: "r3", App: "web", Version: "2.0.0",
		Environment: "prod", State: contracts.StateRolledBack, Reason: "rolled back 1 hosts to their previous version"},
		Phases: []contracts.PhaseView{
			{Index: 0, Name: "canary", State: "stopped", Batches: 1, Hosts: []contracts.HostView{{Name: "web-01", Batch: 1, State: "succeeded", Attempt: 1, Rollback: "succeeded"}}},
			{Index: 1, Name: "bake", Kind: contracts.StepWait, State: "pending"},
		}}
	printRollout(&b, painter(false), v)
	out := b.String()
	for _, want := range []string{"rolled_back (rolled back 1 hosts", "bake (wait)", "succeeded, rollback succeeded"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
