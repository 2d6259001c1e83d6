package input

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

const validBody = `{"id":"r-1","app":"web","version":"2.4.1","environment":"production",
 "phases":[{"name":"canary","hosts":["web-01"]},{"name":"rest","batch":2}]}`

func fixedID() string { return "r-generated" }

// fieldOf returns the field of a typed or field error, failing otherwise.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe contracts.FieldErrors
	if errors.As(err, &fe) {
		return fe[0].Field
	}
	var ce *contracts.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is neither *contracts.Error nor FieldErrors", err, err)
	}
	if ce.Code != contracts.CodeInvalid {
		t.Fatalf("code = %s, want %s", ce.Code, contracts.CodeInvalid)
	}
	return ce.Field
}

func envelope(t *testing.T, typ, id string, data any) string {
	t.Helper()
	b, err := contracts.Marshal(typ, id, "ci", "", contracts.Envelope{}.Time, data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeployBody(t *testing.T) {
	var bare map[string]any
	if err := json.Unmarshal([]byte(validBody), &bare); err != nil {
		t.Fatal(err)
	}
	noID := map[string]any{}
	for k, v := range bare {
		if k != "id" {
			noID[k] = v
		}
	}
	tests := []struct {
		name, body string
		wantID     string
		wantField  string // "" with wantErr means an error without a field
		wantErr    bool
	}{
		{name: "bare", body: validBody, wantID: "r-1"},
		{name: "no id gets one", body: mustJSON(t, noID), wantID: "r-generated"},
		{name: "empty id gets one", body: strings.Replace(validBody, `"r-1"`, `""`, 1), wantID: "r-generated"},
		{name: "null id gets one", body: strings.Replace(validBody, `"r-1"`, `null`, 1), wantID: "r-generated"},
		{name: "envelope", body: envelope(t, contracts.TypeDeployRequest, "r-1", bare), wantID: "r-1"},
		{name: "envelope id fills request", body: envelope(t, contracts.TypeDeployRequest, "r-env", noID), wantID: "r-env"},
		{name: "request id wins over the envelope's", body: envelope(t, contracts.TypeDeployRequest, "r-other", bare), wantID: "r-1"},
		{name: "envelope wrong type", body: envelope(t, contracts.TypeHostResult, "r-1", bare), wantErr: true, wantField: "type"},
		{name: "envelope bad specversion", body: strings.Replace(envelope(t, contracts.TypeDeployRequest, "r-1", bare), `"1.0"`, `"0.3"`, 1), wantErr: true, wantField: "specversion"},
		{name: "empty", body: "  ", wantErr: true},
		{name: "bad JSON", body: `{"app":`, wantErr: true},
		{name: "not an object", body: `[1,2]`, wantErr: true},
		{name: "trailing data", body: validBody + ` {}`, wantErr: true},
		{name: "unknown field", body: strings.Replace(validBody, `"app"`, `"colour":"red","app"`, 1), wantErr: true, wantField: "colour"},
		{name: "id of wrong type", body: strings.Replace(validBody, `"r-1"`, `5`, 1), wantErr: true, wantField: "id"},
		{name: "id not a token", body: strings.Replace(validBody, `"r-1"`, `"a.b"`, 1), wantErr: true, wantField: "id"},
		{name: "bad batch", body: strings.Replace(validBody, `"batch":2`, `"batch":0`, 1), wantErr: true, wantField: "phases[1].batch"},
		{name: "batch of wrong type", body: strings.Replace(validBody, `"batch":2`, `"batch":true`, 1), wantErr: true, wantField: "phases[1].batch"},
		{name: "bad version", body: strings.Replace(validBody, `"2.4.1"`, `"2.x|sh"`, 1), wantErr: true, wantField: "version"},
		{name: "version of wrong type", body: strings.Replace(validBody, `"2.4.1"`, `241`, 1), wantErr: true, wantField: "version"},
		{name: "missing environment", body: strings.Replace(validBody, `"environment":"production",`, ``, 1), wantErr: true, wantField: "environment"},
		{name: "phases not a list", body: `{"id":"r-1","app":"web","version":"1.0.0","environment":"qa","phases":"all"}`, wantErr: true, wantField: "phases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DeployBody([]byte(tt.body), fixedID)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; decoded %+v", req)
				}
				if got := fieldOf(t, err); got != tt.wantField {
					t.Fatalf("field = %q, want %q (error: %v)", got, tt.wantField, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.ID != tt.wantID || req.App != "web" || len(req.Phases) != 2 {
				t.Fatalf("decoded %+v, want id %q", req, tt.wantID)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListRollouts(t *testing.T) {
	tests := []struct {
		query     string
		want      contracts.RolloutListQuery
		wantField string
	}{
		{query: "", want: contracts.RolloutListQuery{}},
		{query: "environment=prod&state=running&limit=20", want: contracts.RolloutListQuery{Environment: "prod", State: contracts.StateRunning, Limit: 20}},
		{query: "environment=a.b", wantField: "environment"},
		{query: "environment=*", wantField: "environment"},
		{query: "state=sleeping", wantField: "state"},
		{query: "limit=0", wantField: "limit"},
		{query: "limit=1001", wantField: "limit"},
		{query: "limit=x", wantField: "limit"},
		{query: "env=prod", wantField: "env"},
		{query: "state=running&state=paused", wantField: "state"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			got, err := ListRollouts(v)
			if tt.wantField != "" {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				if f := fieldOf(t, err); f != tt.wantField {
					t.Fatalf("field = %q, want %q", f, tt.wantField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestEventsQuery(t *testing.T) {
	tests := []struct {
		query, lastID string
		want          Events
		filter        string
		wantField     string
	}{
		{query: "", want: Events{FromNow: true}, filter: "rollwave.events.*.*.*"},
		{query: "environment=prod&rollout=r-1&type=host_failed", want: Events{Environment: "prod", Rollout: "r-1", Type: contracts.EventHostFailed, FromNow: true},
			filter: "rollwave.events.prod.r-1.host_failed"},
		{query: "since=0", want: Events{}},
		{query: "since=42&snapshot=true", want: Events{After: 42, Snapshot: true}},
		{query: "since=1", lastID: "7", want: Events{After: 7}},
		{query: "environment=_unknown&rollout=_invalid-12", want: Events{Environment: "_unknown", Rollout: "_invalid-12", FromNow: true},
			filter: "rollwave.events._unknown._invalid-12.*"},
		{query: "rollout=a.>", wantField: "rollout"},
		{query: "environment=pro d", wantField: "environment"},
		{query: "type=exploded", wantField: "type"},
		{query: "since=-1", wantField: "since"},
		{query: "", lastID: "abc", wantField: "Last-Event-ID"},
		{query: "snapshot=maybe", wantField: "snapshot"},
		{query: "follow=1", wantField: "follow"},
	}
	for _, tt := range tests {
		t.Run(tt.query+"/"+tt.lastID, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			got, err := EventsQuery(v, tt.lastID)
			if tt.wantField != "" {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				if f := fieldOf(t, err); f != tt.wantField {
					t.Fatalf("field = %q, want %q", f, tt.wantField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if tt.filter != "" && got.Filter() != tt.filter {
				t.Fatalf("filter = %q, want %q", got.Filter(), tt.filter)
			}
		})
	}
}

func TestWindowID(t *testing.T) {
	for _, ok := range []string{"w-1", "01HZX3", "w_1.2"} {
		if err := WindowID(ok); err != nil {
			t.Errorf("WindowID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", strings.Repeat("x", 129), "a\x00"} {
		if err := WindowID(bad); err == nil {
			t.Errorf("WindowID(%q) accepted", bad)
		}
	}
}

// FuzzDeployBody checks that no body crashes the decoder and that every
// rejection is an invalid_request error, which the gateway answers with 400.
func FuzzDeployBody(f *testing.F) {
	f.Add([]byte(validBody))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"x","source":"s","data":{"app":"web"}}`))
	f.Add([]byte(`{"id":null,"phases":[{"batch":[1,"5%",0]}]}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"specversion":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DeployBody(body, fixedID)
		if err != nil {
			var fe contracts.FieldErrors
			if errors.As(err, &fe) {
				return
			}
			if ce := contracts.AsError(err); ce.Code != contracts.CodeInvalid {
				t.Fatalf("rejection with code %s: %v", ce.Code, err)
			}
			return
		}
		if req.ID == "" {
			t.Fatalf("accepted a request without an id: %s", body)
		}
	})
}

// A JSON null body (or any non-object) is an invalid request, not a panic.
func TestDeployBodyRejectsNonObjects(t *testing.T) {
	for _, body := range []string{"null", "[]", `"x"`, "42", "true"} {
		_, err := DeployBody([]byte(body), func() string { return "r-generated" })
		if e := contracts.AsError(err); e == nil || e.Code != contracts.CodeInvalid {
			t.Errorf("DeployBody(%s) = %v, want an invalid_request error", body, err)
		}
	}
}
