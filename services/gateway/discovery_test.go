package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestDiscoveryStatus(t *testing.T) {
	h := start(t)
	h.respond(contracts.APIDiscoveryStatus, func(m *nats.Msg) (any, *contracts.Error) {
		return contracts.DiscoveryStatus{Sources: []contracts.SourceStatus{{Environment: "qa", Source: "/etc/hosts.ini", Kind: "ini", Error: "line 3: bad"}}}, nil
	})
	status, _, b := h.do(http.MethodGet, "/v1/discovery/status", "")
	var st contracts.DiscoveryStatus
	if status != http.StatusOK || json.Unmarshal(b, &st) != nil || len(st.Sources) != 1 || st.Sources[0].Error != "line 3: bad" {
		t.Fatalf("status: %d %s", status, b)
	}
	status, hdr, b := h.do(http.MethodGet, "/v1/discovery/status?env=qa", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "env" {
		t.Fatalf("unknown parameter: %d %s", status, b)
	}
}

func TestGraphRoute(t *testing.T) {
	h := start(t)
	h.respond(contracts.APIPlannerGraph, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.GraphQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.DependencyGraph{Environment: q.Environment, Order: []string{q.Apps[0].App}, DOT: "digraph {}"}, nil
	})
	status, _, b := h.do(http.MethodPost, "/v1/graph", `{"environment":"prod","apps":[{"app":"web","requires":[{"app":"api","version":">=1"}]}]}`)
	var g contracts.DependencyGraph
	if status != http.StatusOK || json.Unmarshal(b, &g) != nil || g.Environment != "prod" || g.Order[0] != "web" {
		t.Fatalf("graph: %d %s", status, b)
	}
	status, hdr, b := h.do(http.MethodPost, "/v1/graph", `{"environment":"prod","apps":[],"format":"dot"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "format" {
		t.Fatalf("unknown field: %d %s", status, b)
	}
}

func TestHistoryRoute(t *testing.T) {
	h := start(t)
	h.respond(contracts.APIDiscoveryHistory, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.HistoryQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.History{Entries: []contracts.HistoryEntry{{Environment: q.Environment, Host: q.Host, App: q.App, Version: strconv.Itoa(q.Limit)}}}, nil
	})
	status, _, b := h.do(http.MethodGet, "/v1/inventory/history?environment=prod&host=web-01&app=web&limit=5", "")
	var hist contracts.History
	if status != http.StatusOK || json.Unmarshal(b, &hist) != nil || len(hist.Entries) != 1 ||
		hist.Entries[0] != (contracts.HistoryEntry{Environment: "prod", Host: "web-01", App: "web", Version: "5"}) {
		t.Fatalf("history: %d %s", status, b)
	}
	for _, bad := range []string{"?limit=many", "?env=prod", "?app=a&app=b"} {
		if status, _, b := h.do(http.MethodGet, "/v1/inventory/history"+bad, ""); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, status, b)
		}
	}
}
