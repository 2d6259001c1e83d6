package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

func TestCalendarFeedImportAndSlotRoutes(t *testing.T) {
	h := start(t)
	h.respond(contracts.APICalendarExport, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.CalendarExport
		if err := json.Unmarshal(m.Data, &q); err != nil {
			return nil, contracts.Invalid("", "%v", err)
		}
		return contracts.CalendarFeed{ICS: "BEGIN:VCALENDAR\r\nX-ENV:" + q.Environment + "\r\nEND:VCALENDAR\r\n"}, nil
	})
	h.respond(contracts.APICalendarImport, func(m *nats.Msg) (any, *contracts.Error) {
		var in contracts.CalendarImport
		_ = json.Unmarshal(m.Data, &in)
		if !strings.HasPrefix(in.ICS, "BEGIN:VCALENDAR") {
			return nil, contracts.Invalid("ics", "line 1: the file must start with BEGIN:VCALENDAR")
		}
		return contracts.WindowList{Windows: []contracts.Window{{ID: "w-1", Environment: in.Environments[0]}}}, nil
	})
	h.respond(contracts.APICalendarSlot, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.SlotQuery
		_ = json.Unmarshal(m.Data, &q)
		return contracts.Slot{Found: true, Start: q.After.Add(q.Duration.D())}, nil
	})

	status, hdr, b := h.do(http.MethodGet, "/v1/calendar.ics?env=production", "")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/calendar") || !strings.Contains(string(b), "X-ENV:production") {
		t.Fatalf("feed: %d %v %s", status, hdr, b)
	}
	status, _, b = h.do(http.MethodGet, "/v1/calendar.ics", "")
	if status != http.StatusOK || !strings.Contains(string(b), "X-ENV:\r\n") {
		t.Fatalf("full feed: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodGet, "/v1/calendar.ics?environment=x", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "environment" {
		t.Fatalf("unknown parameter: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodGet, "/v1/calendar.ics?env=no%20spaces", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "env" {
		t.Fatalf("bad env: %d %s", status, b)
	}

	status, _, b = h.do(http.MethodPost, "/v1/calendar/import", `{"ics":"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n","environments":["qa"]}`)
	var l contracts.WindowList
	if status != http.StatusCreated || json.Unmarshal(b, &l) != nil || len(l.Windows) != 1 || l.Windows[0].Environment != "qa" {
		t.Fatalf("import: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodPost, "/v1/calendar/import", `{"ics":"nope","environments":["qa"]}`)
	if e := errorOf(t, hdr, b); status != http.StatusBadRequest || e.Field != "ics" || !strings.Contains(e.Message, "line 1") {
		t.Fatalf("bad import: %d %s", status, b)
	}

	status, _, b = h.do(http.MethodGet, "/v1/calendar/slot?env=production&after=2026-12-01T00:00:00Z&duration=2h&team=search", "")
	var s contracts.Slot
	if status != http.StatusOK || json.Unmarshal(b, &s) != nil || !s.Start.Equal(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("slot: %d %s", status, b)
	}
	status, hdr, b = h.do(http.MethodGet, "/v1/calendar/slot?env=production&after=2026-12-01T00:00:00Z&duration=soon", "")
	if status != http.StatusBadRequest || errorOf(t, hdr, b).Field != "duration" {
		t.Fatalf("bad slot: %d %s", status, b)
	}
}
