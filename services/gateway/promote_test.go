package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestPromoteRoute(t *testing.T) {
	h := start(t)
	h.respond(contracts.APIPlannerClaim, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		return contracts.ClaimReply{Rollout: req.ID}, nil
	})
	h.respond(contracts.APIPlannerPromote, func(m *nats.Msg) (any, *contracts.Error) {
		var p contracts.PromoteRequest
		_ = json.Unmarshal(m.Data, &p)
		switch p.Version {
		case "9.9.9":
			return nil, &contracts.Error{Code: contracts.CodeNotFound, Field: "version", Message: "no completed rollout"}
		case "2.0.0":
			return contracts.PromoteReply{From: "r-stg", Reasons: []contracts.FieldError{{Field: "environment", Code: contracts.CodeLifecycle, Message: "not in staging yet"}}}, nil
		}
		if p.ID == "" || p.RequestedBy != "alice" {
			return nil, contracts.Invalid("id", "the gateway sends an id; got %+v", p)
		}
		return contracts.PromoteReply{From: "r-stg", FromEnvironment: "staging", Request: contracts.DeployRequest{
			ID: p.ID, App: p.App, Version: p.Version, Environment: p.To, RequestedBy: p.RequestedBy,
			Phases: []contracts.PhaseSpec{{Name: "all"}}}}, nil
	})
	requests := func() uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := h.js.Stream(ctx, contracts.StreamRequests)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}

	status, _, b := h.do(http.MethodPost, "/v1/promote", `{"app":"web","version":"2.5.0","to":"prod","requested_by":"alice"}`)
	var rc PromoteReceipt
	if status != http.StatusAccepted || json.Unmarshal(b, &rc) != nil || rc.Rollout == "" || rc.From != "r-stg" || rc.FromEnvironment != "staging" || rc.StreamSeq == 0 {
		t.Fatalf("promote: %d %s", status, b)
	}
	if n := requests(); n != 1 {
		t.Fatalf("%d requests queued, want 1", n)
	}

	status, hdr, b := h.do(http.MethodPost, "/v1/promote", `{"app":"web","version":"2.0.0","to":"prod"}`)
	if e := errorOf(t, hdr, b); status != http.StatusUnprocessableEntity || e.Code != contracts.CodeLifecycle || e.Field != "environment" {
		t.Fatalf("refused promote: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/promote", `{"app":"web","version":"9.9.9","to":"prod"}`)
	if e := errorOf(t, hdr, b); status != http.StatusNotFound || e.Field != "version" {
		t.Fatalf("unknown release: %d %s", status, b)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"app":"web","version":"2.5.0"}`, "to"},
		{`{"app":"web","version":"2.5.0","to":"prod","env":"x"}`, "env"},
		{`{"app":"web","version":"2.5.0","to":"prod","override":{"lifecycle":true}}`, "override.reason"},
		{`{"app":"web","version":"a b","to":"prod"}`, "version"},
	} {
		status, hdr, b := h.do(http.MethodPost, "/v1/promote", tc.body)
		if e := errorOf(t, hdr, b); status != http.StatusBadRequest || e.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.body, status, b, tc.field)
		}
	}
	if n := requests(); n != 1 {
		t.Fatalf("refused promotions queued requests: %d", n)
	}
}

// FuzzPromoteHandler sends arbitrary bodies to POST /v1/promote: never a
// 5xx, every error a JSON error with a code, and what passes the decoder
// is a valid promotion.
func FuzzPromoteHandler(f *testing.F) {
	h := start(f)
	h.respond(contracts.APIPlannerPromote, func(m *nats.Msg) (any, *contracts.Error) {
		var p contracts.PromoteRequest
		if err := contracts.DecodeStrict(m.Data, &p); err != nil || p.Validate() != nil {
			return nil, contracts.Errorf(contracts.CodeInternal, "the gateway sent an invalid promotion")
		}
		return contracts.PromoteReply{Reasons: []contracts.FieldError{{Field: "environment", Code: contracts.CodeLifecycle, Message: "no"}}}, nil
	})
	handler := h.gw.Handler()
	for _, seed := range []string{`{"app":"web","version":"2.5.0","to":"prod"}`, `{}`, `{"app":"web","version":"1","to":"p","override":{"lifecycle":true,"reason":"x"}}`,
		`{"app":"web","app":"api"}`, "\xff", `{"app":"web","version":"1","to":"p","id":"bad id"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/promote", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		handler.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 {
			var e contracts.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("error body %s (%v)", rec.Body, err)
			}
		}
	})
}
