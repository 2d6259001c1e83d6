package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestReadEvents(t *testing.T) {
	stream := "retry: 3000\n: hello\n\n" +
		"id: 1\nevent: started\ndata: {\"a\":1}\n\n" +
		": heartbeat\n\n" +
		"id: 2\r\nevent: planned\r\ndata: line one\r\ndata: line two\r\n\r\n" +
		"id: 3\nunknown: x\ndata:no-space\n\n" +
		"id: 4\ndata: cut off at the end"
	var got []sseEvent
	err := readEvents(strings.NewReader(stream), func(e sseEvent) (bool, error) {
		got = append(got, e)
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{ID: "1", Event: "started", Data: []byte(`{"a":1}`)},
		{ID: "2", Event: "planned", Data: []byte("line one\nline two")},
		{ID: "3", Data: []byte("no-space")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events: %+v", len(got), got)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Event != want[i].Event || string(got[i].Data) != string(want[i].Data) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// fn stops the stream, or fails it.
	n := 0
	_ = readEvents(strings.NewReader(stream), func(sseEvent) (bool, error) { n++; return true, nil })
	boom := errors.New("boom")
	if err := readEvents(strings.NewReader(stream), func(sseEvent) (bool, error) { return false, boom }); !errors.Is(err, boom) || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestDecodeAPIError(t *testing.T) {
	err := decodeAPIError(422, []byte(`{"code":"invalid_request","message":"m","field":"f","reasons":[{"field":"a","message":"b"}]}`))
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Body.Field != "f" || len(ae.Reasons) != 1 || ae.Error() != "f: m" {
		t.Fatalf("err = %#v", err)
	}
	// A proxy's HTML page is reported, shortened, with its status.
	err = decodeAPIError(502, []byte("<html>"+strings.Repeat("x", 500)+"</html>"))
	if !errors.As(err, &ae) || ae.Body.Code != contracts.CodeInternal || !strings.HasPrefix(ae.Error(), "HTTP 502: <html>") || len(ae.Error()) > 230 {
		t.Fatalf("err = %v", err)
	}
	if err := decodeAPIError(503, nil); err.Error() != "HTTP 503: Service Unavailable" {
		t.Fatalf("err = %v", err)
	}
}

// FuzzReadEvents feeds arbitrary server output to the event-stream parser
// and error decoder: neither may panic, and every event's id stays on one
// line.
func FuzzReadEvents(f *testing.F) {
	f.Add([]byte("id: 1\nevent: started\ndata: {}\n\n"))
	f.Add([]byte(": hb\n\nid: 2\r\ndata: a\r\ndata: b\r\n\r\n"))
	f.Add([]byte("data\n\n:\n\nid\n\n"))
	f.Add([]byte(`{"code":"x","message":"y","reasons":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := readEvents(strings.NewReader(string(b)), func(e sseEvent) (bool, error) {
			if strings.ContainsAny(e.ID, "\n") || strings.ContainsAny(e.Event, "\n") {
				t.Fatalf("field spans lines: %+v", e)
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var ae *apiError
		if e := decodeAPIError(500, b); !errors.As(e, &ae) || e.Error() == "" {
			t.Fatalf("decodeAPIError(%q) = %v", b, e)
		}
	})
}
