package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

const deployBody = `{"id":"r-100","app":"web","version":"2.4.1","environment":"production",
 "phases":[{"name":"canary","hosts":["web-01"]},{"name":"rest","batch":2}]}`

func TestCreateRejectsMalformedBodies(t *testing.T) {
	h := start(t)
	tests := []struct {
		name, body, field string
	}{
		{"bad JSON", `{"app":"web",`, ""},
		{"empty body", ``, ""},
		{"not an object", `"deploy please"`, ""},
		{"unknown field", strings.Replace(deployBody, `"app"`, `"colour":"red","app"`, 1), "colour"},
		{"bad batch", strings.Replace(deployBody, `"batch":2`, `"batch":-1`, 1), "phases[1].batch"},
		{"batch of wrong type", strings.Replace(deployBody, `"batch":2`, `"batch":{"n":2}`, 1), "phases[1].batch"},
		{"bad version", strings.Replace(deployBody, `"2.4.1"`, `"2.4.1 && id"`, 1), "version"},
		{"version of wrong type", strings.Replace(deployBody, `"2.4.1"`, `2.41`, 1), "version"},
		{"missing environment", strings.Replace(deployBody, `"environment":"production",`, ``, 1), "environment"},
		{"environment not a token", strings.Replace(deployBody, `"production"`, `"prod.*"`, 1), "environment"},
		{"hosts of wrong type", strings.Replace(deployBody, `["web-01"]`, `"web-01"`, 1), "phases[0].hosts"},
		{"id not a token", strings.Replace(deployBody, `"r-100"`, `"r 100"`, 1), "id"},
		{"check url of a file", strings.Replace(deployBody, `"batch":2}]`, `"batch":2,"checks":["hz"]}],"checks":{"hz":{"http":{"url":"file:///etc/passwd"}}}`, 1), "checks.hz.http.url"},
		{"check url that is not a url", strings.Replace(deployBody, `"batch":2}]`, `"batch":2,"checks":["hz"]}],"checks":{"hz":{"http":{"url":"not a url"}}}`, 1), "checks.hz.http.url"},
		{"envelope of another type", `{"specversion":"1.0","type":"io.rollwave.host.result.v1","id":"r-1","source":"ci","data":{}}`, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, b := h.do(http.MethodPost, "/v1/rollouts", tt.body, "Content-Type", "application/json")
			if status != http.StatusBadRequest {
				t.Fatalf("status = %d, body %s", status, b)
			}
			e := errorOf(t, hdr, b)
			if e.Code != contracts.CodeInvalid || e.Field != tt.field {
				t.Fatalf("error = %+v, want field %q", e, tt.field)
			}
		})
	}
	// Nothing of this reached the stream.
	info := streamInfo(t, h.js, contracts.StreamRequests)
	if info.State.Msgs != 0 {
		t.Fatalf("REQUESTS holds %d messages", info.State.Msgs)
	}
}

func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

type receipt struct {
	Rollout   string `json:"rollout"`
	StreamSeq uint64 `json:"stream_seq"`
	Duplicate bool   `json:"duplicate"`
}

func TestCreatePublishesOnceWithTraceContext(t *testing.T) {
	h := start(t)
	status, _, b := h.do(http.MethodPost, "/v1/rollouts", deployBody, "Content-Type", "application/json")
	if status != http.StatusAccepted {
		t.Fatalf("status = %d, body %s", status, b)
	}
	var rc receipt
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	if rc.Rollout != "r-100" || rc.StreamSeq != 1 || rc.Duplicate {
		t.Fatalf("receipt = %+v", rc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, contracts.StreamRequests)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, rc.StreamSeq)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != contracts.SubjectDeployRequest {
		t.Fatalf("subject = %q", msg.Subject)
	}
	if got := msg.Header.Get(nats.MsgIdHdr); got != "r-100" {
		t.Fatalf("Nats-Msg-Id = %q", got)
	}
	// The key must be exactly "traceparent": non-Go peers look it up so.
	tp, ok := msg.Header["traceparent"]
	if !ok || !regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`).MatchString(tp[0]) {
		t.Fatalf("traceparent header = %v (headers %v)", tp, msg.Header)
	}
	env, err := contracts.DecodeEnvelope(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	var req contracts.DeployRequest
	if err := env.DecodeData(contracts.TypeDeployRequest, &req); err != nil {
		t.Fatal(err)
	}
	if env.ID != "r-100" || env.Source != Source || req.ID != "r-100" || req.Environment != "production" || len(req.Phases) != 2 {
		t.Fatalf("envelope %+v with request %+v", env, req)
	}
	// The header's trace is the one of the deploy.request root span.
	spans := h.spans.GetSpans()
	if len(spans) != 1 || spans[0].Name != "deploy.request" || spans[0].Parent.IsValid() {
		t.Fatalf("spans = %+v", spans)
	}
	if !strings.Contains(tp[0], spans[0].SpanContext.TraceID().String()) {
		t.Fatalf("traceparent %s is not of trace %s", tp[0], spans[0].SpanContext.TraceID())
	}

	// The same request again is dropped by the broker and says so.
	status, _, b = h.do(http.MethodPost, "/v1/rollouts", deployBody)
	if status != http.StatusAccepted {
		t.Fatalf("repeat status = %d, body %s", status, b)
	}
	var again receipt
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.StreamSeq != rc.StreamSeq || again.Rollout != "r-100" {
		t.Fatalf("repeat receipt = %+v", again)
	}
	if n := streamInfo(t, h.js, contracts.StreamRequests).State.Msgs; n != 1 {
		t.Fatalf("REQUESTS holds %d messages, want 1", n)
	}
}

func TestCreateGeneratesIDAndAcceptsEnvelopes(t *testing.T) {
	h := start(t)
	noID := strings.Replace(deployBody, `"id":"r-100",`, ``, 1)
	status, _, b := h.do(http.MethodPost, "/v1/rollouts", noID)
	var rc receipt
	if status != http.StatusAccepted || json.Unmarshal(b, &rc) != nil {
		t.Fatalf("status = %d, body %s", status, b)
	}
	if !regexp.MustCompile(`^r-[0-9a-f]{16}$`).MatchString(rc.Rollout) {
		t.Fatalf("generated id %q", rc.Rollout)
	}

	// The JSON a publisher sends on the subject is accepted as it is.
	var req contracts.DeployRequest
	if err := json.Unmarshal([]byte(strings.Replace(deployBody, "r-100", "r-env", 1)), &req); err != nil {
		t.Fatal(err)
	}
	env, err := contracts.Marshal(contracts.TypeDeployRequest, "r-env", "ci", "", time.Now(), req)
	if err != nil {
		t.Fatal(err)
	}
	status, _, b = h.do(http.MethodPost, "/v1/rollouts", string(env), "Content-Type", "application/cloudevents+json")
	if status != http.StatusAccepted || json.Unmarshal(b, &rc) != nil || rc.Rollout != "r-env" || rc.StreamSeq != 2 {
		t.Fatalf("status = %d, body %s", status, b)
	}

	status, hdr, b := h.do(http.MethodPost, "/v1/rollouts", deployBody, "Content-Type", "text/plain")
	if status != http.StatusUnsupportedMediaType || errorOf(t, hdr, b).Field != "Content-Type" {
		t.Fatalf("text/plain: status = %d, body %s", status, b)
	}
}

func TestBodyLimit(t *testing.T) {
	h := start(t)
	big := `{"app":"web","reason":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	status, hdr, b := h.do(http.MethodPost, "/v1/rollouts", big)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d", status)
	}
	if e := errorOf(t, hdr, b); e.Code != codeTooLarge {
		t.Fatalf("error = %+v", e)
	}
}

func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	h := start(t)
	status, hdr, b := h.do(http.MethodGet, "/v2/nothing", "")
	if status != http.StatusNotFound || errorOf(t, hdr, b).Code != contracts.CodeNotFound {
		t.Fatalf("unknown route: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPut, "/v1/rollouts", "{}")
	if status != http.StatusMethodNotAllowed || errorOf(t, hdr, b).Code != codeMethodNotAllowed {
		t.Fatalf("wrong method: %d %s", status, b)
	}
	if allow := hdr.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow = %q", allow)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts/r-1/explode", "")
	if e := errorOf(t, hdr, b); status != http.StatusBadRequest || e.Field != "verb" || e.Code != contracts.CodeInvalid {
		t.Fatalf("unknown verb: %d %s", status, b)
	}
	// /metrics is served when a gatherer is configured.
	status, _, b = h.do(http.MethodGet, "/metrics", "")
	if status != http.StatusOK || !strings.Contains(string(b), "rollwave_gateway_event_streams") {
		t.Fatalf("metrics: %d %.300s", status, b)
	}
	// Requests are counted by route pattern, never by raw path.
	_, _, b = h.do(http.MethodGet, "/metrics", "")
	for _, want := range []string{
		`rollwave_gateway_http_requests_total{code="404",route="unmatched"} 1`,
		`rollwave_gateway_http_requests_total{code="405",route="unmatched"} 1`,
		`rollwave_gateway_http_requests_total{code="400",route="POST /v1/rollouts/{id}/{verb}"} 1`,
		`rollwave_gateway_http_requests_total{code="200",route="GET /metrics"} 1`,
		`rollwave_gateway_http_request_duration_seconds_count{route="GET /metrics"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(b), "/v2/nothing") {
		t.Error("a raw path became a label")
	}
}

func TestControlPassesReplyAndErrorsThrough(t *testing.T) {
	h := start(t)
	got := make(chan contracts.ControlCommand, 1)
	h.respond(contracts.ControlSubject("r-1", contracts.VerbPause), func(m *nats.Msg) (any, *contracts.Error) {
		var cmd contracts.ControlCommand
		_ = json.Unmarshal(m.Data, &cmd)
		got <- cmd
		return contracts.RolloutSummary{Rollout: "r-1", State: contracts.StatePaused}, nil
	})
	h.respond(contracts.ControlSubject("r-1", contracts.VerbResume), func(*nats.Msg) (any, *contracts.Error) {
		return nil, &contracts.Error{Code: contracts.CodeInvalidState, Message: "rollout r-1 is completed; it cannot resume"}
	})

	status, _, b := h.do(http.MethodPost, "/v1/rollouts/r-1/pause", `{"actor":"ann","reason":"db migration"}`)
	var s contracts.RolloutSummary
	if status != http.StatusOK || json.Unmarshal(b, &s) != nil || s.State != contracts.StatePaused {
		t.Fatalf("pause: %d %s", status, b)
	}
	if cmd := <-got; cmd.Actor != "ann" || cmd.Reason != "db migration" {
		t.Fatalf("command = %+v", cmd)
	}

	status, hdr, b := h.do(http.MethodPost, "/v1/rollouts/r-1/resume", "")
	if status != http.StatusConflict {
		t.Fatalf("resume: %d %s", status, b)
	}
	if e := errorOf(t, hdr, b); e.Code != contracts.CodeInvalidState || e.Message != "rollout r-1 is completed; it cannot resume" {
		t.Fatalf("resume error = %+v", e)
	}

	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts/r-1/pause", `{"who":"ann"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "who" {
		t.Fatalf("bad body: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts/r.1/pause", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "id" {
		t.Fatalf("bad id: %d %s", status, b)
	}
	// Nobody answers abort: the scheduler is down.
	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts/r-1/abort", "")
	if status != http.StatusServiceUnavailable || errorOf(t, hdr, b).Code != contracts.CodeUnavailable {
		t.Fatalf("no responders: %d %s", status, b)
	}
}

func TestQueriesReachTheirServices(t *testing.T) {
	h := start(t)
	h.respond(contracts.APISchedulerList, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutListQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.RolloutList{Rollouts: []contracts.RolloutSummary{{Rollout: "r-1", Environment: q.Environment, State: q.State}}}, nil
	})
	h.respond(contracts.APISchedulerGet, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.RolloutQuery
		_ = json.Unmarshal(m.Data, &q)
		if q.Rollout != "r-1" {
			return nil, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", q.Rollout)
		}
		return contracts.RolloutView{RolloutSummary: contracts.RolloutSummary{Rollout: "r-1"},
			Phases: []contracts.PhaseView{{Name: "canary", Hosts: []contracts.HostView{{Name: "web-01"}}}}}, nil
	})
	h.respond(contracts.APIDiscoveryInventory, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.InventoryQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.Inventory{Environments: []contracts.Environment{{Name: q.Environment, Hosts: []contracts.Host{{Name: "web-01"}}}}}, nil
	})
	h.respond(contracts.APIPlannerPreview, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		if req.Environment == "nowhere" {
			return contracts.PreviewReply{Reasons: []contracts.FieldError{{Field: "environment", Message: "no environment \"nowhere\""}}}, nil
		}
		return contracts.PreviewReply{Plan: &contracts.Plan{Rollout: req.ID, Environment: req.Environment,
			Phases: []contracts.PlannedPhase{{Name: "canary", Batches: [][]string{{"web-01"}}}}}}, nil
	})

	status, _, b := h.do(http.MethodGet, "/v1/rollouts?environment=prod&state=running&limit=5", "")
	var list contracts.RolloutList
	if status != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list.Rollouts) != 1 ||
		list.Rollouts[0].Environment != "prod" || list.Rollouts[0].State != contracts.StateRunning {
		t.Fatalf("list: %d %s", status, b)
	}
	status, hdr, b := h.do(http.MethodGet, "/v1/rollouts?state=bored", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "state" {
		t.Fatalf("bad list query: %d %s", status, b)
	}

	status, _, b = h.do(http.MethodGet, "/v1/rollouts/r-1", "")
	var view contracts.RolloutView
	if status != http.StatusOK || json.Unmarshal(b, &view) != nil || view.Rollout != "r-1" || len(view.Phases) != 1 {
		t.Fatalf("get: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodGet, "/v1/rollouts/r-404", "")
	if status != http.StatusNotFound || errorOf(t, hdr, b).Code != contracts.CodeNotFound {
		t.Fatalf("get missing: %d %s", status, b)
	}

	status, _, b = h.do(http.MethodGet, "/v1/inventory?environment=qa", "")
	var inv contracts.Inventory
	if status != http.StatusOK || json.Unmarshal(b, &inv) != nil || inv.Environments[0].Name != "qa" {
		t.Fatalf("inventory: %d %s", status, b)
	}

	status, _, b = h.do(http.MethodPost, "/v1/plan", deployBody)
	var pr contracts.PreviewReply
	if status != http.StatusOK || json.Unmarshal(b, &pr) != nil || pr.Plan == nil || pr.Plan.Rollout != "r-100" {
		t.Fatalf("plan: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/plan", strings.Replace(deployBody, "production", "nowhere", 1))
	var rejected struct {
		contracts.Error
		Reasons []contracts.FieldError `json:"reasons"`
	}
	if status != http.StatusUnprocessableEntity || json.Unmarshal(b, &rejected) != nil ||
		rejected.Field != "environment" || len(rejected.Reasons) != 1 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("plan rejected: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/plan", `{"app":1}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "app" {
		t.Fatalf("plan bad body: %d %s", status, b)
	}
	// A preview never publishes.
	if n := streamInfo(t, h.js, contracts.StreamRequests).State.Msgs; n != 0 {
		t.Fatalf("REQUESTS holds %d messages", n)
	}
}

func TestCalendarRoutes(t *testing.T) {
	h := start(t)
	start := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	h.respond(contracts.APICalendarAdd, func(m *nats.Msg) (any, *contracts.Error) {
		var in contracts.WindowInput
		_ = json.Unmarshal(m.Data, &in)
		if in.End == "" {
			return nil, contracts.Invalid("end", "is required")
		}
		return contracts.Window{ID: "w-1", Environment: in.Environment, Kind: contracts.WindowFreeze, Start: start, End: start.Add(48 * time.Hour)}, nil
	})
	h.respond(contracts.APICalendarList, func(m *nats.Msg) (any, *contracts.Error) {
		return contracts.WindowList{Windows: []contracts.Window{{ID: "w-1", Environment: "prod"}}}, nil
	})
	removed := make(chan string, 1)
	h.respond(contracts.APICalendarRemove, func(m *nats.Msg) (any, *contracts.Error) {
		var r contracts.WindowRemove
		_ = json.Unmarshal(m.Data, &r)
		if r.ID != "w-1" {
			return nil, contracts.Errorf(contracts.CodeNotFound, "no window %q", r.ID)
		}
		removed <- r.ID
		return struct{}{}, nil
	})

	status, _, b := h.do(http.MethodPost, "/v1/calendar/windows", `{"environment":"prod","start":"2026-12-24T00:00","end":"2026-12-26T00:00","timezone":"UTC"}`)
	var w contracts.Window
	if status != http.StatusCreated || json.Unmarshal(b, &w) != nil || w.ID != "w-1" {
		t.Fatalf("add: %d %s", status, b)
	}
	status, hdr, b := h.do(http.MethodPost, "/v1/calendar/windows", `{"environment":"prod","start":"2026-12-24T00:00"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "end" {
		t.Fatalf("add without end: %d %s", status, b)
	}
	// Several environments, or all of them, instead of one.
	status, _, b = h.do(http.MethodPost, "/v1/calendar/windows", `{"environments":["*"],"kind":"stop","start":"2026-12-24T00:00","end":"2026-12-26T00:00"}`)
	if status != http.StatusCreated {
		t.Fatalf("add for every environment: %d %s", status, b)
	}
	status, _, b = h.do(http.MethodPost, "/v1/calendar/windows", `{"environment":"*","start":"2026-12-24T00:00","end":"2026-12-26T00:00"}`)
	if status != http.StatusCreated {
		t.Fatalf("add for \"*\": %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/calendar/windows", `{"environments":["qa","a b"],"start":"2026-12-24T00:00","end":"2026-12-26T00:00"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "environments[1]" {
		t.Fatalf("add with a bad environment: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/calendar/windows", `{"start":"2026-12-24T00:00","end":"2026-12-26T00:00"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "environment" {
		t.Fatalf("add without environment: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/calendar/windows", `{"environment":"prod","starts":"x"}`)
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "starts" {
		t.Fatalf("add unknown field: %d %s", status, b)
	}
	status, _, b = h.do(http.MethodGet, "/v1/calendar/windows?environment=prod", "")
	var list contracts.WindowList
	if status != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list.Windows) != 1 {
		t.Fatalf("list: %d %s", status, b)
	}
	status, _, b = h.do(http.MethodDelete, "/v1/calendar/windows/w-1", "")
	if status != http.StatusNoContent || <-removed != "w-1" {
		t.Fatalf("remove: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodDelete, "/v1/calendar/windows/w-2", "")
	if status != http.StatusNotFound || errorOf(t, hdr, b).Code != contracts.CodeNotFound {
		t.Fatalf("remove missing: %d %s", status, b)
	}
}

func TestUpstreamTimeoutIs504(t *testing.T) {
	h := start(t, withRequestTimeout(300*time.Millisecond))
	// A scheduler that takes the request and never answers.
	sub, err := h.nc.Subscribe(contracts.APISchedulerList, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	status, hdr, b := h.do(http.MethodGet, "/v1/rollouts", "")
	if status != http.StatusGatewayTimeout || errorOf(t, hdr, b).Code != contracts.CodeTimeout {
		t.Fatalf("status = %d, body %s", status, b)
	}
}

func TestHealthFollowsTheNATSConnection(t *testing.T) {
	h := start(t)
	if status, _, b := h.do(http.MethodGet, "/healthz", ""); status != http.StatusOK {
		t.Fatalf("healthz = %d %s", status, b)
	}
	h.gwNC.Close()
	status, hdr, b := h.do(http.MethodGet, "/healthz", "")
	if status != http.StatusServiceUnavailable || errorOf(t, hdr, b).Code != contracts.CodeUnavailable {
		t.Fatalf("healthz after close = %d %s", status, b)
	}
	// Publishing without a connection is unavailable, not internal.
	status, hdr, b = h.do(http.MethodPost, "/v1/rollouts", deployBody)
	if status != http.StatusServiceUnavailable || errorOf(t, hdr, b).Code != contracts.CodeUnavailable {
		t.Fatalf("deploy after close = %d %s", status, b)
	}
}

func TestStartStop(t *testing.T) {
	h := start(t)
	if h.gw.Name() != "gateway" {
		t.Fatalf("name = %q", h.gw.Name())
	}
	if err := h.gw.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	// Stop ends open event streams instead of waiting for them.
	s := h.events("")
	_ = s.next(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.gw.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s.ended()
	if err := h.gw.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if _, err := http.Get(h.base + "/healthz"); err == nil {
		t.Fatal("still serving after Stop")
	}
}

func TestNewNeedsNATS(t *testing.T) {
	if _, err := New(serviceDepsWithoutNATS(), Config{}); err == nil {
		t.Fatal("New without NATS succeeded")
	}
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	js := natstest.JetStream(t, nc)
	gw, err := New(depsOf(nc, js), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if gw.cfg.Addr != DefaultAddr || gw.cfg.RequestTimeout != DefaultRequestTimeout {
		t.Fatalf("defaults not applied: %+v", gw.cfg)
	}
	if gw.Addr() != "" {
		t.Fatalf("Addr before Start = %q", gw.Addr())
	}
}
