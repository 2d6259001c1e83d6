package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestPrintRolloutShowsQueuePosition(t *testing.T) {
	var b bytes.Buffer
	v := contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: "r3", App: "web", Version: "1.0.0",
		Environment: "prod", State: contracts.StateQueued, Reason: "environment prod is busy with another rollout", QueuePosition: 2}}
	printRollout(&b, painter(false), v)
	if !strings.Contains(b.String(), "Queue position:") || !strings.Contains(b.String(), "2 in prod") {
		t.Fatalf("output:\n%s", b.String())
	}
	b.Reset()
	v.State, v.QueuePosition = contracts.StateRunning, 0
	printRollout(&b, painter(false), v)
	if strings.Contains(b.String(), "Queue position") {
		t.Fatalf("running rollout shows a queue position:\n%s", b.String())
	}
}
