package inventory

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// An environment's on_blocked policy reaches the contract the planner
// reads; a value other than wait or reject names the field and line.
func TestParseOnBlocked(t *testing.T) {
	inv, err := Parse([]byte("environments:\n  - name: prod\n    on_blocked: reject\n    on_freeze: finish_phase\n    hosts: [{name: a, address: b}]\n  - name: qa\n"))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := inv.Find("prod")
	qa, _ := inv.Find("qa")
	if got := prod.Contract().OnBlocked; got != contracts.OnBlockedReject {
		t.Fatalf("prod on_blocked = %q", got)
	}
	if got := prod.Contract().OnFreeze; got != contracts.OnFreezeFinishPhase {
		t.Fatalf("prod on_freeze = %q", got)
	}
	if got := qa.Contract().OnBlocked; got != "" {
		t.Fatalf("qa on_blocked = %q, want none", got)
	}
	_, err = Parse([]byte("environments:\n  - name: prod\n    on_blocked: later\n"))
	want := `environments[0].on_blocked: must be "wait" or "reject", got "later" (line 3)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %s", err, want)
	}
	_, err = Parse([]byte("environments:\n  - name: prod\n    on_freeze: stop\n"))
	want = `environments[0].on_freeze: must be "pause" or "finish_phase", got "stop" (line 3)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
