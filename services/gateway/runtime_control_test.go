package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

// skip, reorder and exclude reach their control subjects with their
// targets; a refusal is a 409 with the scheduler's message.
func TestRuntimeControlRoutes(t *testing.T) {
	h := start(t)
	got := make(chan contracts.ControlCommand, 3)
	for _, v := range []contracts.Verb{contracts.VerbSkip, contracts.VerbReorder, contracts.VerbExclude} {
		h.respond(contracts.ControlSubject("r-1", v), func(m *nats.Msg) (any, *contracts.Error) {
			var cmd contracts.ControlCommand
			_ = json.Unmarshal(m.Data, &cmd)
			got <- cmd
			if cmd.Step == "deploy" {
				return nil, &contracts.Error{Code: contracts.CodeInvalidState, Message: "cannot skip: step deploy of rollout r-1 is completed"}
			}
			return contracts.RolloutSummary{Rollout: "r-1", State: contracts.StateRunning}, nil
		})
	}
	if status, _, b := h.do(http.MethodPost, "/v1/rollouts/r-1/skip", `{"actor":"ann","reason":"gone","step":"east"}`); status != http.StatusOK {
		t.Fatalf("skip: %d %s", status, b)
	}
	if cmd := <-got; cmd.Step != "east" || cmd.Actor != "ann" || cmd.Reason != "gone" {
		t.Fatalf("skip command %+v", cmd)
	}
	if status, _, b := h.do(http.MethodPost, "/v1/rollouts/r-1/reorder", `{"actor":"ann","steps":["west","east"]}`); status != http.StatusOK {
		t.Fatalf("reorder: %d %s", status, b)
	}
	if cmd := <-got; !slices.Equal(cmd.Steps, []string{"west", "east"}) {
		t.Fatalf("reorder command %+v", cmd)
	}
	if status, _, b := h.do(http.MethodPost, "/v1/rollouts/r-1/exclude", `{"actor":"ann","host":"web-07"}`); status != http.StatusOK {
		t.Fatalf("exclude: %d %s", status, b)
	}
	if cmd := <-got; cmd.Host != "web-07" {
		t.Fatalf("exclude command %+v", cmd)
	}
	status, hdr, b := h.do(http.MethodPost, "/v1/rollouts/r-1/skip", `{"step":"deploy"}`)
	<-got
	if e := errorOf(t, hdr, b); status != http.StatusConflict || e.Code != contracts.CodeInvalidState || e.Message != "cannot skip: step deploy of rollout r-1 is completed" {
		t.Fatalf("refused skip: %d %s", status, b)
	}
	// The body stays strict: a misspelt target is named.
	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts/r-1/exclude", `{"hosts":"web-07"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "hosts" {
		t.Fatalf("bad body: %d %s", status, b)
	}
}
