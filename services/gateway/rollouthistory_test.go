package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestRolloutHistoryRoute(t *testing.T) {
	h := start(t)
	asked := make(chan contracts.RolloutHistoryQuery, 4)
	h.respond(contracts.APIPlannerHistory, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutHistoryQuery
		_ = json.Unmarshal(m.Data, &q)
		asked <- q
		return contracts.RolloutHistory{Rollouts: []contracts.RolloutRecord{{Rollout: "r-1", App: q.App, Environment: q.Environment,
			State: contracts.StateCompleted, RequestedBy: "alice"}}}, nil
	})
	status, _, b := h.do(http.MethodGet, "/v1/history?app=web&environment=prod&limit=5", "")
	var got contracts.RolloutHistory
	if status != http.StatusOK || json.Unmarshal(b, &got) != nil || len(got.Rollouts) != 1 || got.Rollouts[0].RequestedBy != "alice" {
		t.Fatalf("history: %d %s", status, b)
	}
	if q := <-asked; q != (contracts.RolloutHistoryQuery{App: "web", Environment: "prod", Limit: 5}) {
		t.Fatalf("planner was asked %+v", q)
	}
	for _, tc := range []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=x", "limit"},
		{"?limit=5000", "limit"},
		{"?app=Web", "app"},
		{"?environment=a.b", "environment"},
		{"?host=web-01", "host"},
		{"?app=web&app=api", "app"},
	} {
		status, hdr, b := h.do(http.MethodGet, "/v1/history"+tc.query, "")
		if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, status, b, tc.field)
		}
	}
	if len(asked) != 0 {
		t.Fatalf("bad queries reached the planner")
	}
}

func FuzzDecodeRolloutHistory(f *testing.F) {
	for _, seed := range []string{"", "app=web&environment=prod&limit=5", "limit=-1", "app=%zz", "app=web&app=api", "x=1", "limit=99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.NewRequest(http.MethodGet, "/v1/history", nil)
		if err != nil {
			t.Skip()
		}
		r.URL.RawQuery = raw
		q, err := decodeRolloutHistory(nil, r)
		if err != nil {
			if e := contracts.AsError(err); e.Code != contracts.CodeInvalid || e.Field == "" {
				t.Fatalf("%q: error %+v", raw, e)
			}
			return
		}
		if verr := q.(contracts.RolloutHistoryQuery).Validate(); verr != nil {
			t.Fatalf("%q: decoded an invalid query: %v", raw, verr)
		}
	})
}
