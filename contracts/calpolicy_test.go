package contracts

import (
	"strings"
	"testing"
)

// A request's calendar policies decode strictly and are validated by
// field.
func TestCalendarPolicies(t *testing.T) {
	b := []byte(`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}],"on_blocked":"reject","on_freeze":"finish_phase"}`)
	r, err := DecodeDeployRequest(b)
	if err != nil || r.OnBlocked != OnBlockedReject || r.OnFreeze != OnFreezeFinishPhase {
		t.Fatalf("decode: %+v %v", r, err)
	}
	r.OnBlocked, r.OnFreeze = "queue", "halt"
	var got []string
	for _, e := range AsFieldErrors(r.Validate()) {
		got = append(got, e.Field+": "+e.Message)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`on_blocked: must be "wait" or "reject", got "queue"`,
		`on_freeze: must be "pause" or "finish_phase", got "halt"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
}
