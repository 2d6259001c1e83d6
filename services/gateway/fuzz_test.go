package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

// FuzzCreateHandler sends arbitrary bodies to POST /v1/rollouts and
// POST /v1/plan: the answer is never a 5xx, and every error is a JSON
// error naming a code. Valid bodies really publish to the embedded
// JetStream, and a test planner answers previews.
func FuzzCreateHandler(f *testing.F) {
	h := start(f)
	h.respond(contracts.APIPlannerPreview, func(m *nats.Msg) (any, *contracts.Error) {
		return contracts.PreviewReply{Reasons: []contracts.FieldError{{Field: "environment", Message: "unknown"}}}, nil
	})
	handler := h.gw.Handler()
	f.Add([]byte(deployBody))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"r-9","source":"ci","data":{"app":"web"}}`))
	f.Add([]byte(`{"id":"x","phases":[{"batch":[1,"5%",0]}],"failure":{"max_failed":"101%"}}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`{"app":"web","app":"api"}`))
	f.Add([]byte(`{"id":null,"app":"web","version":"1.0.0-rc.1+b","environment":"qa","phases":[{"name":"all"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/rollouts", "/v1/plan"} {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body)
			}
			if rec.Code >= 400 {
				var e contracts.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
					t.Fatalf("%s: error body %s (%v)", path, rec.Body, err)
				}
			}
		}
	})
}
