package plan

import (
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// The request's on_blocked wins; the environment's applies to a request
// that names none; with neither the plan says nothing (wait).
func TestOnBlockedPolicy(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		req, env, want contracts.OnBlocked
	}{
		{"", "", ""},
		{contracts.OnBlockedReject, "", contracts.OnBlockedReject},
		{"", contracts.OnBlockedReject, contracts.OnBlockedReject},
		{contracts.OnBlockedWait, contracts.OnBlockedReject, contracts.OnBlockedWait},
	} {
		req := request(contracts.PhaseSpec{Name: "all"})
		req.OnBlocked = tt.req
		e := env(hosts(2))
		e.OnBlocked = tt.env
		p, err := Build(req, e, now)
		if err != nil {
			t.Fatal(err)
		}
		if p.OnBlocked != tt.want {
			t.Errorf("request %q, environment %q: plan on_blocked %q, want %q", tt.req, tt.env, p.OnBlocked, tt.want)
		}
	}
	req := request(contracts.PhaseSpec{Name: "all"})
	e := env(hosts(2))
	e.OnFreeze = contracts.OnFreezeFinishPhase
	if p, err := Build(req, e, now); err != nil || p.OnFreeze != contracts.OnFreezeFinishPhase {
		t.Fatalf("environment's on_freeze not applied: %q, %v", p.OnFreeze, err)
	}
	req.OnFreeze = contracts.OnFreezePause
	if p, err := Build(req, e, now); err != nil || p.OnFreeze != contracts.OnFreezePause {
		t.Fatalf("request's on_freeze does not win: %q, %v", p.OnFreeze, err)
	}
}
