package contracts

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const minimalRequest = `{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}]}`

func envelopeOf(t *testing.T, typ, id string, data any) []byte {
	t.Helper()
	b, err := Marshal(typ, id, "test", "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDeployRequestBareAndEnveloped(t *testing.T) {
	bare, err := DecodeDeployRequest([]byte(minimalRequest))
	if err != nil {
		t.Fatal(err)
	}
	if bare.ID != "r1" || bare.Phases[0].Name != "all" {
		t.Fatalf("decoded %+v", bare)
	}
	enveloped, err := DecodeDeployRequest(envelopeOf(t, TypeDeployRequest, "r1", json.RawMessage(minimalRequest)))
	if err != nil {
		t.Fatal(err)
	}
	if enveloped.ID != bare.ID || enveloped.App != bare.App {
		t.Fatalf("enveloped %+v, bare %+v", enveloped, bare)
	}
}

func TestDecodeDeployRequestTakesTheEnvelopeID(t *testing.T) {
	data := json.RawMessage(`{"app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}]}`)
	r, err := DecodeDeployRequest(envelopeOf(t, TypeDeployRequest, "from-envelope", data))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "from-envelope" {
		t.Fatalf("id %q", r.ID)
	}
	// The request's own id wins: it is the idempotency key.
	data = json.RawMessage(`{"id":"own","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}]}`)
	if r, _ = DecodeDeployRequest(envelopeOf(t, TypeDeployRequest, "envelope", data)); r.ID != "own" {
		t.Fatalf("id %q", r.ID)
	}
	// A bare request has no envelope to take an id from.
	_, err = DecodeDeployRequest([]byte(`{"app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}]}`))
	if fe := AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "id" {
		t.Fatalf("got %v, want id is required", err)
	}
}

func TestDecodeDeployRequestErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		field string
		msg   string
		id    string // the id returned with the error, for the rejection
	}{
		{"unknown field", []byte(`{"id":"r1","app":"web","versoin":"1"}`), "versoin", "not a known field", ""},
		{"invalid request reports every problem", []byte(`{"id":"r1","app":"Web","version":"1","environment":"qa","phases":[]}`), "app", "lower-case", "r1"},
		{"not JSON", []byte(`app: web`), "", "malformed JSON", ""},
		{"wrong envelope type", envelopeOf(t, TypeHostAction, "e1", json.RawMessage(minimalRequest)), "type", TypeDeployRequest, "e1"},
		{"bad envelope", []byte(`{"specversion":"0.3","id":"e2","type":"x","source":"s","data":{}}`), "specversion", `must be "1.0"`, "e2"},
		{"bad data in envelope", envelopeOf(t, TypeDeployRequest, "e3", json.RawMessage(`{"phases":[{"name":"a","batch":"lots"}]}`)), "phases[0].batch", `got "lots"`, "e3"},
		{"invalid data in envelope", envelopeOf(t, TypeDeployRequest, "e4", json.RawMessage(`{"app":"web"}`)), "version", "is required", "e4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeDeployRequest(tt.in)
			if err == nil {
				t.Fatal("want an error")
			}
			if !IsCode(err, CodeInvalid) && AsError(err).Code != CodeInvalid {
				t.Fatalf("error %v is not invalid_request", err)
			}
			fe := AsFieldErrors(err)
			found := false
			for _, f := range fe {
				if f.Field == tt.field && strings.Contains(f.Message, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("got %v, want %q: ...%q...", fe, tt.field, tt.msg)
			}
			if r.ID != tt.id {
				t.Fatalf("returned id %q, want %q", r.ID, tt.id)
			}
		})
	}
	// Validation problems come all at once.
	_, err := DecodeDeployRequest([]byte(`{"id":"r1","app":"Web","version":"1 2","environment":"qa","phases":[]}`))
	if fe := AsFieldErrors(err); len(fe) != 3 {
		t.Fatalf("got %v, want problems with app, version and phases", fe)
	}
}

func TestDecodeDeployRequestNormalizes(t *testing.T) {
	in := `{"id":"r1","app":"web","version":"1.0.0","environment":"qa","start_at":"2026-11-27T03:00:00+01:00",
		"params":{},"checks":{},"phases":[{"name":"all","hosts":[],"checks":[]}],"driver":{"exec":{"command":["x"],"env":{}}}}`
	r, err := DecodeDeployRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Params != nil || r.Checks != nil || r.Phases[0].Hosts != nil || r.Phases[0].Checks != nil || r.Driver.Exec.Env != nil {
		t.Fatalf("empty collections not nil: %+v", r)
	}
	if r.StartAt.Location() != time.UTC || !r.StartAt.Equal(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("start_at %v", r.StartAt)
	}
}

func TestDecodeEnvelope(t *testing.T) {
	ok := `{"specversion":"1.0","type":"t","id":"i","source":"s","time":"2026-11-20T11:00:00+01:00","data":{"a":1}`
	env, err := DecodeEnvelope([]byte(ok + `,"traceparent":"x","partitionkey":"k"}`))
	if err != nil {
		t.Fatal(err)
	}
	if env.Time.Location() != time.UTC || env.Time.Hour() != 10 || string(env.Data) != `{"a":1}` {
		t.Fatalf("decoded %+v", env)
	}
	tests := []struct{ in, field, msg string }{
		{`[]`, "", "must be an object"},
		{`{"specversion":"1.0"`, "", "unexpected end"},
		{`{"specversion":1}`, "specversion", "must be a string"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","time":"noon","data":{}}`, "time", "RFC 3339"},
		{`{"specversion":"0.3","type":"t","id":"i","source":"s","data":{}}`, "specversion", `must be "1.0"`},
		{`{"specversion":"1.0","id":"i","source":"s","data":{}}`, "type", "is required"},
		{`{"specversion":"1.0","type":"t","source":"s","data":{}}`, "id", "is required"},
		{`{"specversion":"1.0","type":"t","id":"i","data":{}}`, "source", "is required"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s"}`, "data", "is required"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","data":null}`, "data", "is required"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","data":{},"datacontenttype":"text/plain"}`, "datacontenttype", "application/json"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","data_base64":"eA=="}`, "data_base64", "binary data"},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","data":{},"Type":"u"}`, "Type", `did you mean "type"`},
		{`{"specversion":"1.0","type":"t","id":"i","source":"s","data":{},"my_ext":"u"}`, "my_ext", "lower-case letters and digits"},
		{`{"specversion":"1.0","type":"t","type":"u","id":"i","source":"s","data":{}}`, "type", "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := DecodeEnvelope([]byte(tt.in))
			wantInvalid(t, err, tt.field, tt.msg)
		})
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/cloudevents+json"} {
		if _, err := DecodeEnvelope([]byte(ok + `,"datacontenttype":"` + ct + `"}`)); err != nil {
			t.Errorf("%s: %v", ct, err)
		}
	}
}

func TestEnvelopeDecodeDataIsStrict(t *testing.T) {
	env, err := DecodeEnvelope(envelopeOf(t, TypeControl, "c1", json.RawMessage(`{"actor":"a","reson":"typo"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var c ControlCommand
	wantInvalid(t, env.DecodeData(TypeControl, &c), "reson", "not a known field")
	wantInvalid(t, env.DecodeData(TypeHostAction, &c), "type", "must be")
}

func validAction() HostAction {
	return HostAction{ID: ActionID("r1", 0, "h1", 1), Rollout: "r1", Environment: "qa", App: "web", Version: "1.0.0",
		Phase: PhaseRef{Index: 0, Name: "all"}, Attempt: 1, Host: ActionHost{Name: "h1", Address: "10.0.0.1"},
		Driver: DriverSpec{Sim: &SimDriver{Median: Duration(time.Second)}}}
}

func TestDecodeHostAction(t *testing.T) {
	a := validAction()
	got, err := DecodeHostAction(envelopeOf(t, TypeHostAction, a.ID, a))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Driver.Sim.Median != a.Driver.Sim.Median {
		t.Fatalf("decoded %+v", got)
	}
	// A newer scheduler may add fields; this executor must still act.
	var m map[string]any
	raw, _ := json.Marshal(a)
	_ = json.Unmarshal(raw, &m)
	m["canary_weight"] = 5
	m["host"].(map[string]any)["zone"] = "eu-1a"
	if _, err := DecodeHostAction(envelopeOf(t, TypeHostAction, a.ID, m)); err != nil {
		t.Fatalf("unknown fields must be skipped: %v", err)
	}
	m["Rollout"] = "other"
	if _, err := DecodeHostAction(envelopeOf(t, TypeHostAction, a.ID, m)); err == nil {
		t.Fatal("a field named in another case must be rejected")
	}
	_, err = DecodeHostAction(envelopeOf(t, TypeHostResult, a.ID, a))
	wantInvalid(t, err, "type", TypeHostAction)
	_, err = DecodeHostAction(envelopeOf(t, TypeHostAction, a.ID, json.RawMessage(`{"attempt":"1"}`)))
	wantInvalid(t, err, "attempt", "must be a whole number")
	a.Driver = DriverSpec{}
	got, err = DecodeHostAction(envelopeOf(t, TypeHostAction, a.ID, a))
	if fe := AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "driver" {
		t.Fatalf("got %v, want driver problem", err)
	}
	if got.ID != a.ID {
		t.Fatal("an invalid action must come back so that its failure can be reported")
	}
}

func TestDecodeHostResult(t *testing.T) {
	zero := 0
	r := HostResult{ActionID: "a1", Rollout: "r1", Environment: "qa", Host: "h1", Attempt: 1, Status: ResultSucceeded,
		ExitCode: &zero, StartedAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3600)), Executor: "e1"}
	got, err := DecodeHostResult(envelopeOf(t, TypeHostResult, ResultMsgID(r.ActionID), r))
	if err != nil {
		t.Fatal(err)
	}
	if got.ExitCode == nil || *got.ExitCode != 0 || got.StartedAt.Location() != time.UTC || !got.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("decoded %+v", got)
	}
	r.Status = "done"
	_, err = DecodeHostResult(envelopeOf(t, TypeHostResult, "x", r))
	if fe := AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "status" {
		t.Fatalf("got %v", err)
	}
	_, err = DecodeHostResult([]byte(`{}`))
	wantInvalid(t, err, "specversion", "must be")
}

func TestDecodeEvent(t *testing.T) {
	ev := Event{Rollout: "r1", Environment: "qa", App: "web", Version: "1.0.0", Seq: 3, State: StateRunning,
		Phase: &PhaseRef{Index: 1, Name: "rest"}, Hosts: []string{"h1"}}
	env, got, err := DecodeEvent(envelopeOf(t, EventTypeID(EventBatchStarted), EventMsgID("r1", 3), ev))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 3 || got.Phase.Name != "rest" || env.ID != "r1/event-3" {
		t.Fatalf("decoded %+v %+v", env, got)
	}
	if typ, _ := ParseEventTypeID(env.Type); typ != EventBatchStarted {
		t.Fatalf("type %q", typ)
	}
	// An event type added later still decodes.
	if _, _, err := DecodeEvent(envelopeOf(t, EventTypePrefix+"gate_opened.v1", "x", ev)); err != nil {
		t.Fatal(err)
	}
	for typ, msg := range map[string]string{
		TypeHostAction:                      "must start with",
		EventTypePrefix + "started.v2":      `followed by an event name`,
		EventTypePrefix + ".v1":             `followed by an event name`,
		EventTypePrefix + "Started.v1":      `followed by an event name`,
		EventTypePrefix + "a.b.v1":          `followed by an event name`,
		"x" + EventTypeID(EventStarted)[1:]: "must start with",
	} {
		_, _, err := DecodeEvent(envelopeOf(t, typ, "x", ev))
		wantInvalid(t, err, "type", msg)
	}
	_, _, err = DecodeEvent(envelopeOf(t, EventTypeID(EventStarted), "x", json.RawMessage(`{"seq":"3"}`)))
	wantInvalid(t, err, "seq", "must be a whole number")
	for _, et := range EventTypes {
		if typ, err := ParseEventTypeID(EventTypeID(et)); err != nil || typ != et {
			t.Errorf("%s: %v %v", et, typ, err)
		}
	}
}

func TestAsFieldErrors(t *testing.T) {
	if AsFieldErrors(nil) != nil || AsFieldErrors(errors.New("x")) != nil {
		t.Fatal("want nil")
	}
	fe := AsFieldErrors(Invalid("a", "b"))
	if len(fe) != 1 || fe[0] != (FieldError{Field: "a", Message: "b"}) {
		t.Fatalf("got %v", fe)
	}
	wrapped := AsFieldErrors(errors.Join(errors.New("ctx"), FieldErrors{{Field: "x", Message: "y"}, {Field: "z", Message: "w"}}))
	if len(wrapped) != 2 {
		t.Fatalf("got %v", wrapped)
	}
}
