package planner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// serveCalendar answers admission queries as the calendar would, with a
// freeze on prod until freezeEnd.
func (h *harness) serveCalendar(freezeEnd time.Time) {
	h.t.Helper()
	nc, err := nats.Connect(h.srv)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(nc.Close)
	freeze := &contracts.Window{ID: "w-freeze", Environment: "prod", Kind: contracts.WindowFreeze, Start: start.Add(-time.Hour), End: freezeEnd, Reason: "release freeze"}
	_, err = nc.Subscribe(contracts.APICalendarAdmit, func(m *nats.Msg) {
		var q contracts.AdmitQuery
		_ = json.Unmarshal(m.Data, &q)
		adm := contracts.Admission{Allowed: true}
		if q.Environment == "prod" && q.At.Before(freezeEnd) {
			adm = contracts.Admission{Allowed: false, Until: &freezeEnd, Window: freeze}
		}
		b, _ := json.Marshal(contracts.Reply[contracts.Admission]{Data: &adm})
		_ = m.Respond(b)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) preview(req contracts.DeployRequest) contracts.PreviewReply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	reply, err := natsx.Request[contracts.PreviewReply](ctx, h.nc, contracts.APIPlannerPreview, req)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply
}

func streamMsgs(h *harness, name string) uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := h.js.Stream(ctx, name)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

func TestPreviewShowsBatchesCalendarAndEstimate(t *testing.T) {
	h := newHarness(t)
	h.serveDiscovery(prod())
	h.startPlanner(Config{})

	// No calendar running and no history: said so, not failed.
	req := deployRequest("r-preview")
	reply := h.preview(req)
	if reply.Plan == nil || len(reply.Calendar) != 1 || reply.Calendar[0].When != "now" || reply.Calendar[0].Allowed ||
		!strings.Contains(reply.Calendar[0].Unavailable, "the calendar did not answer") {
		t.Fatalf("without a calendar: %+v", reply.Calendar)
	}
	if e := reply.Estimate; e == nil || e.Samples != 0 || e.Batches != 3 || e.Duration != 0 {
		t.Fatalf("without history: %+v", reply.Estimate)
	}

	// Two completed prod rollouts of 3 batches each, 6 and 12 minutes:
	// 18 minutes over 6 batches is 3 minutes a batch.
	for i, d := range []time.Duration{6 * time.Minute, 12 * time.Minute} {
		id := []string{"r-old-1", "r-old-2"}[i]
		h.publishRequest(context.Background(), deployRequest(id))
		h.event(contracts.EventSubject("prod", id, contracts.EventPlanned))
		h.schedulerEvent("prod", id, "web", "2.5.0", contracts.EventStarted, 1, "")
		h.clock.Advance(d)
		h.schedulerEvent("prod", id, "web", "2.5.0", contracts.EventCompleted, 2, "")
	}
	h.history(contracts.RolloutHistoryQuery{Environment: "prod"}, 2)
	natstest.CheckFor(t, wait, 10*time.Millisecond, func() error {
		if e := h.preview(req).Estimate; e.Samples != 2 {
			return errNotYet(e)
		}
		return nil
	})

	freezeEnd := h.clock.Now().Add(2 * time.Hour)
	h.serveCalendar(freezeEnd)
	at := h.clock.Now().Add(3 * time.Hour)
	req.StartAt = &at
	requests, events := streamMsgs(h, contracts.StreamRequests), streamMsgs(h, contracts.StreamEvents)
	reply = h.preview(req)
	if got := reply.Plan.Phases; len(got) != 2 || len(got[0].Batches) != 1 || got[0].Batches[0][0] != "web-02" || len(got[1].Batches) != 2 {
		t.Fatalf("batches = %+v", got)
	}
	if len(reply.Calendar) != 2 {
		t.Fatalf("calendar = %+v", reply.Calendar)
	}
	now, later := reply.Calendar[0], reply.Calendar[1]
	if now.When != "now" || now.Allowed || now.Window == nil || now.Window.ID != "w-freeze" || now.Until == nil || !now.Until.Equal(freezeEnd) {
		t.Errorf("now = %+v", now)
	}
	if later.When != "start_at" || !later.Allowed || !later.At.Equal(at) || later.Unavailable != "" {
		t.Errorf("at start_at = %+v", later)
	}
	if e := reply.Estimate; e.Samples != 2 || e.Batches != 3 || e.PerBatch.D() != 3*time.Minute || e.Duration.D() != 9*time.Minute {
		t.Errorf("estimate = %+v", e)
	}

	// No side effects: nothing published, and the id is not claimed, so
	// the same id with another body is still free.
	if r, e := streamMsgs(h, contracts.StreamRequests), streamMsgs(h, contracts.StreamEvents); r != requests || e != events {
		t.Fatalf("a preview published: requests %d -> %d, events %d -> %d", requests, r, events, e)
	}
	other := deployRequest("r-preview")
	other.Version = "2.6.0"
	h.publishRequest(context.Background(), other)
	_, _, ev := h.event(contracts.EventSubject("prod", "r-preview", contracts.EventPlanned))
	if ev.Version != "2.6.0" {
		t.Fatalf("planned %s", ev.Version)
	}
}
