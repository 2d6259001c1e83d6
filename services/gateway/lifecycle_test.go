package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestPreviewRefusedByLifecycleKeepsItsCode(t *testing.T) {
	h := start(t)
	h.respond(contracts.APIPlannerPreview, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.PreviewReply{Reasons: []contracts.FieldError{{Field: "environment", Code: contracts.CodeLifecycle,
			Message: "web@2.4.1 has not completed in staging"}}}, nil
	})
	status, hdr, b := h.do(http.MethodPost, "/v1/plan", deployBody)
	e := errorOf(t, hdr, b)
	var body struct {
		Reasons []contracts.FieldError `json:"reasons"`
	}
	if status != http.StatusUnprocessableEntity || e.Code != contracts.CodeLifecycle || e.Field != "environment" ||
		json.Unmarshal(b, &body) != nil || len(body.Reasons) != 1 || body.Reasons[0].Code != contracts.CodeLifecycle {
		t.Fatalf("plan refused by the lifecycle: %d %s", status, b)
	}
}
