package contracts

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemas compiles every embedded schema against the 2020-12 meta-schema.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for _, name := range SchemaNames() {
		b, err := Schema(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id := doc.(map[string]any)["$id"]; id != SchemaBaseURI+name+".json" {
			t.Fatalf("%s has $id %v", name, id)
		}
		if err := c.AddResource(SchemaBaseURI+name+".json", doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range SchemaNames() {
		s, err := c.Compile(SchemaBaseURI + name + ".json")
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func validateSchema(s *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func TestSchemaLookup(t *testing.T) {
	want := []string{"admission", "agent-act-result", "agent-announcement", "control-command", "defs", "deploy-request", "envelope", "event", "host-action", "host-result", "inventory-event", "verification-reply", "verification-request", "window-input"}
	if got := SchemaNames(); !slices.Equal(got, want) {
		t.Fatalf("SchemaNames() = %v, want %v", got, want)
	}
	a, err := Schema("event")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Schema("event.json")
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("event.json: %v", err)
	}
	if _, err := Schema("nope"); !IsCode(err, CodeNotFound) {
		t.Fatalf("got %v, want not_found", err)
	}
	for _, bad := range []string{"", "../doc.go", "schemas/event"} {
		if _, err := Schema(bad); !IsCode(err, CodeInvalid) {
			t.Errorf("%q: got %v, want invalid_request", bad, err)
		}
	}
}

// codec decodes a message of one schema with the decoder services use and
// builds a fresh Go value for strict decoding of its data.
type codec struct {
	decode   func(b []byte) (any, error)
	newValue func() any
}

func strictCodec[T any]() codec {
	return codec{
		decode: func(b []byte) (any, error) {
			var v T
			err := DecodeStrict(b, &v)
			return v, err
		},
		newValue: func() any { return new(T) },
	}
}

var codecs = map[string]codec{
	"deploy-request": {
		decode:   func(b []byte) (any, error) { return DecodeDeployRequest(b) },
		newValue: func() any { return new(DeployRequest) },
	},
	"event": {
		decode: func(b []byte) (any, error) {
			_, ev, err := DecodeEvent(b)
			return ev, err
		},
		newValue: func() any { return new(Event) },
	},
	"host-action": {
		decode:   func(b []byte) (any, error) { return DecodeHostAction(b) },
		newValue: func() any { return new(HostAction) },
	},
	"host-result": {
		decode:   func(b []byte) (any, error) { return DecodeHostResult(b) },
		newValue: func() any { return new(HostResult) },
	},
	"control-command":      strictCodec[ControlCommand](),
	"window-input":         strictCodec[WindowInput](),
	"admission":            strictCodec[Admission](),
	"agent-announcement":   strictCodec[AgentAnnouncement](),
	"agent-act-result":     strictCodec[AgentActResult](),
	"inventory-event":      strictCodec[InventoryEvent](),
	"verification-request": strictCodec[VerificationRequest](),
	"verification-reply": {
		decode:   func(b []byte) (any, error) { return DecodeVerificationReply(b) },
		newValue: func() any { return new(VerificationReply) },
	},
}

// Golden files are named <schema>[.<variant>].json for a bare payload and
// <schema>[.<variant>].envelope.json for a whole message.
func TestGoldenPayloads(t *testing.T) {
	sch := schemas(t)
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	covered := map[string]bool{}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			schema, _, _ := strings.Cut(name, ".")
			enveloped := strings.HasSuffix(name, ".envelope.json")
			c, ok := codecs[schema]
			if !ok || sch[schema] == nil {
				t.Fatalf("no schema or codec for %q", schema)
			}
			covered[schema] = true
			data := b
			if enveloped {
				covered["envelope"] = true
				if err := validateSchema(sch["envelope"], b); err != nil {
					t.Fatalf("envelope schema: %v", err)
				}
				env, err := DecodeEnvelope(b)
				if err != nil {
					t.Fatal(err)
				}
				data = env.Data
			}
			if err := validateSchema(sch[schema], data); err != nil {
				t.Fatalf("%s schema: %v", schema, err)
			}
			if err := DecodeStrict(data, c.newValue()); err != nil {
				t.Fatalf("strict decode: %v", err)
			}
			v, err := c.decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var again []byte
			if enveloped {
				env, _ := DecodeEnvelope(b)
				again, err = Marshal(env.Type, env.ID, env.Source, env.Subject, env.Time, v)
			} else {
				again, err = json.Marshal(v)
			}
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, b, again)
		})
	}
	for name := range codecs {
		if !covered[name] {
			t.Errorf("no golden payload for schema %q", name)
		}
	}
}

func assertSameJSON(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("re-encoded JSON differs from the golden:\n got: %s\nwant: %s", got, bytes.Join(bytes.Fields(want), nil))
	}
}

// Each invalid payload must fail both the schema and the Go decoder, and the
// decoder must name the field.
func TestInvalidPayloads(t *testing.T) {
	sch := schemas(t)
	req := func(edit string) string {
		// edit replaces the phases of a minimal valid request, or adds fields.
		return `{"id":"r1","app":"web","version":"1.0.0","environment":"qa",` + edit + `}`
	}
	phases := `"phases":[{"name":"all"}]`
	envelope := func(typ, data string) string {
		return `{"specversion":"1.0","type":"` + typ + `","id":"m1","source":"test","time":"2026-11-20T10:00:00Z","data":` + data + `}`
	}
	action := `{"id":"a1","rollout":"r1","environment":"qa","app":"web","version":"1.0.0","phase":{"index":0,"name":"all"},"batch":1,"attempt":1,"host":{"name":"h1","address":"10.0.0.1"},"driver":{"sim":{}}}`
	result := `{"action_id":"a1","rollout":"r1","environment":"qa","app":"web","version":"1.0.0","phase":{"index":0,"name":"all"},"batch":1,"host":"h1","attempt":1,"status":"succeeded","started_at":"2026-11-20T10:00:00Z","finished_at":"2026-11-20T10:00:01Z","executor":"e1"}`
	event := `{"rollout":"r1","environment":"qa","app":"web","version":"1.0.0","state":"running"}`
	tests := []struct {
		name, schema, payload, field string
	}{
		{"unknown phase field", "deploy-request", req(`"phases":[{"name":"all","bacth":2}]`), "phases[0].bacth"},
		{"field in another case", "deploy-request", req(phases + `,"Reason":"x"`), "Reason"},
		{"version not a string", "deploy-request", req(phases + `,"version":1`), "version"},
		{"version with a shell metacharacter", "deploy-request", strings.Replace(req(phases), `"1.0.0"`, `"1.0.0;id"`, 1), "version"},
		{"app upper case", "deploy-request", strings.Replace(req(phases), `"web"`, `"Web"`, 1), "app"},
		{"id not a token", "deploy-request", strings.Replace(req(phases), `"r1"`, `"r.1"`, 1), "id"},
		{"no phases", "deploy-request", req(`"phases":[]`), "phases"},
		{"apps with app", "deploy-request", req(phases + `,"apps":[{"app":"api","version":"3.2.0"}]`), "app"},
		{"apps entry without version", "deploy-request", `{"id":"r1","environment":"qa",` + phases + `,"apps":[{"app":"api"}]}`, "apps[0].version"},
		{"apps entry unknown field", "deploy-request", `{"id":"r1","environment":"qa",` + phases + `,"apps":[{"app":"api","version":"1.0.0","env":"x"}]}`, "apps[0].env"},
		{"apps empty", "deploy-request", `{"id":"r1","environment":"qa",` + phases + `,"apps":[]}`, "apps"},
		{"phase without name", "deploy-request", req(`"phases":[{"batch":1}]`), "phases[0].name"},
		{"batch 0%", "deploy-request", req(`"phases":[{"name":"all","batch":"0%"}]`), "phases[0].batch"},
		{"batch 0", "deploy-request", req(`"phases":[{"name":"all","batch":0}]`), "phases[0].batch"},
		{"batch 150%", "deploy-request", req(`"phases":[{"name":"all","batch":"150%"}]`), "phases[0].batch"},
		{"batch empty list", "deploy-request", req(`"phases":[{"name":"all","batch":[]}]`), "phases[0].batch"},
		{"batch step", "deploy-request", req(`"phases":[{"name":"all","batch":[1,"x"]}]`), "phases[0].batch[1]"},
		{"hosts and selector", "deploy-request", req(`"phases":[{"name":"a","hosts":["h1"],"selector":{"group":"g"}}]`), "phases[0].selector"},
		{"empty selector", "deploy-request", req(`"phases":[{"name":"a","selector":{}}]`), "phases[0].selector"},
		{"bad host name", "deploy-request", req(`"phases":[{"name":"a","hosts":["web_01"]}]`), "phases[0].hosts[0]"},
		{"repeated host", "deploy-request", req(`"phases":[{"name":"a","hosts":["h1","h1"]}]`), "phases[0].hosts[1]"},
		{"strategy unknown", "deploy-request", req(phases + `,"strategy":"explode"`), "strategy"},
		{"blue-green traffic unset", "deploy-request", req(`"strategy":"blue-green","blue_green":{"traffic":{}}`), "blue_green.traffic"},
		{"canary without strategy", "deploy-request", req(phases + `,"canary":{"hosts":1,"analysis":{"checks":["h"]}}`), "canary"},
		{"on_failure unknown", "deploy-request", req(phases + `,"failure":{"on_failure":"explode"}`), "failure.on_failure"},
		{"wait step with hosts", "deploy-request", req(`"phases":[{"name":"a"},{"name":"bake","wait":"10m","hosts":["h1"]}]`), "phases[1].hosts"},
		{"gate on_timeout unknown", "deploy-request", req(`"phases":[{"name":"a","gate":{"before":true,"timeout":"1h","on_timeout":"maybe"}}]`), "phases[0].gate.on_timeout"},
		{"max_failed negative", "deploy-request", req(phases + `,"failure":{"max_failed":"-1"}`), "failure.max_failed"},
		{"max_failed 101%", "deploy-request", req(phases + `,"failure":{"max_failed":"101%"}`), "failure.max_failed"},
		{"check without variant", "deploy-request", req(phases + `,"checks":{"h":{}}`), "checks.h"},
		{"check url missing", "deploy-request", req(phases + `,"checks":{"h":{"http":{"status":200}}}`), "checks.h.http.url"},
		{"check status", "deploy-request", req(phases + `,"checks":{"h":{"http":{"url":"x","status":700}}}`), "checks.h.http.status"},
		{"check negative timeout", "deploy-request", req(phases + `,"checks":{"h":{"http":{"url":"x","timeout":"-2s"}}}`), "checks.h.http.timeout"},
		{"check duration", "deploy-request", req(phases + `,"checks":{"h":{"http":{"url":"x","timeout":"2 seconds"}}}`), "checks.h.http.timeout"},
		{"check with two kinds", "deploy-request", req(phases + `,"checks":{"h":{"http":{"url":"http://x"},"tcp":{"address":"x:1"}}}`), "checks.h"},
		{"tcp without address", "deploy-request", req(phases + `,"checks":{"h":{"tcp":{"timeout":"1s"}}}`), "checks.h.tcp.address"},
		{"command without argv", "deploy-request", req(phases + `,"checks":{"h":{"command":{"command":[]}}}`), "checks.h.command.command"},
		{"prometheus op", "deploy-request", req(phases + `,"checks":{"h":{"prometheus":{"url":"http://p:9090","query":"up","op":"=<","threshold":1}}}`), "checks.h.prometheus.op"},
		{"prometheus threshold", "deploy-request", req(phases + `,"checks":{"h":{"prometheus":{"url":"http://p:9090","query":"up","op":"=="}}}`), "checks.h.prometheus.threshold"},
		{"prometheus threshold type", "deploy-request", req(phases + `,"checks":{"h":{"prometheus":{"url":"http://p:9090","query":"up","op":"==","threshold":"1"}}}`), "checks.h.prometheus.threshold"},
		{"nats unknown field", "deploy-request", req(phases + `,"checks":{"h":{"nats":{"subject":"verify.web","queue":"q"}}}`), "checks.h.nats.queue"},
		{"reply status", "verification-reply", `{"status":"passed"}`, "status"},
		{"reply without status", "verification-reply", `{"reason":"x"}`, "status"},
		{"reply unknown field", "verification-reply", `{"status":"pass","details":{}}`, "details"},
		{"reply reason type", "verification-reply", `{"status":"pass","reason":1}`, "reason"},
		{"two drivers", "deploy-request", req(phases + `,"driver":{"sim":{},"exec":{"command":["x"]}}`), "driver"},
		{"no driver variant", "deploy-request", req(phases + `,"driver":{}`), "driver"},
		{"unknown driver", "deploy-request", req(phases + `,"driver":{"telnet":{}}`), "driver.telnet"},
		{"ssh driver without user", "deploy-request", req(phases + `,"driver":{"ssh":{"command":["x"],"key_file":"k"}}`), "driver.ssh.user"},
		{"ssh driver port", "deploy-request", req(phases + `,"driver":{"ssh":{"user":"u","command":["x"],"key_file":"k","port":70000}}`), "driver.ssh.port"},
		{"exec without command", "deploy-request", req(phases + `,"driver":{"exec":{"command":[]}}`), "driver.exec.command"},
		{"exec empty program", "deploy-request", req(phases + `,"driver":{"exec":{"command":[""]}}`), "driver.exec.command[0]"},
		{"exec env name", "deploy-request", req(phases + `,"driver":{"exec":{"command":["x"],"env":{"1X":"y"}}}`), "driver.exec.env.1X"},
		{"sim failure rate", "deploy-request", req(phases + `,"driver":{"sim":{"failure_rate":1.5}}`), "driver.sim.failure_rate"},
		{"param name", "deploy-request", req(phases + `,"params":{"1a":"x"}`), "params.1a"},
		{"param value", "deploy-request", req(phases + `,"params":{"a":1}`), "params.a"},
		{"start_at", "deploy-request", req(phases + `,"start_at":"tomorrow"`), "start_at"},
		{"enveloped request", "envelope", envelope(TypeDeployRequest, req(`"phases":[{"name":"all","batch":"0%"}]`)), "phases[0].batch"},
		{"envelope spec version", "envelope", strings.Replace(envelope(TypeDeployRequest, req(phases)), `"1.0"`, `"0.3"`, 1), "specversion"},
		{"envelope without data", "envelope", `{"specversion":"1.0","type":"t","id":"m1","source":"s"}`, "data"},
		{"envelope without source", "envelope", `{"specversion":"1.0","type":"t","id":"m1","data":{}}`, "source"},
		{"envelope binary data", "envelope", `{"specversion":"1.0","type":"t","id":"m1","source":"s","data_base64":"eA=="}`, "data_base64"},
		{"envelope content type", "envelope", `{"specversion":"1.0","type":"t","id":"m1","source":"s","datacontenttype":"text/xml","data":{}}`, "datacontenttype"},
		{"event of version 2", "envelope", envelope(EventTypePrefix+"started.v2", event), "type"},
		{"event seq", "envelope", envelope(EventTypeID(EventStarted), strings.Replace(event, `"state"`, `"seq":"1","state"`, 1)), "seq"},
		{"action without driver", "envelope", envelope(TypeHostAction, strings.Replace(action, `,"driver":{"sim":{}}`, ``, 1)), "driver"},
		{"action attempt", "envelope", envelope(TypeHostAction, strings.Replace(action, `"attempt":1`, `"attempt":"1"`, 1)), "attempt"},
		{"action rollout", "envelope", envelope(TypeHostAction, strings.Replace(action, `"rollout":"r1"`, `"rollout":"r.1"`, 1)), "rollout"},
		{"result status", "envelope", envelope(TypeHostResult, strings.Replace(result, `"succeeded"`, `"ok"`, 1)), "status"},
		{"result time", "envelope", envelope(TypeHostResult, strings.Replace(result, `"2026-11-20T10:00:01Z"`, `"10:00"`, 1)), "finished_at"},
		{"control unknown", "control-command", `{"actor":"a","verb":"pause"}`, "verb"},
		{"control actor", "control-command", `{"actor":5}`, "actor"},
		{"window unknown", "window-input", `{"environment":"qa","start":"a","end":"b","from":"x"}`, "from"},
		{"window environment", "window-input", `{"environment":["qa"],"start":"a","end":"b"}`, "environment"},
		{"admission allowed", "admission", `{"allowed":"yes"}`, "allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validateSchema(sch[tt.schema], []byte(tt.payload)); err == nil {
				t.Errorf("the %s schema accepts it", tt.schema)
			}
			decode := codecs[tt.schema].decode
			if tt.schema == "envelope" {
				decode = decoderForEnvelope(t, tt.payload)
			}
			_, err := decode([]byte(tt.payload))
			if err == nil {
				t.Fatal("the Go decoder accepts it")
			}
			var fields []string
			for _, f := range AsFieldErrors(err) {
				fields = append(fields, f.Field)
			}
			if !slices.Contains(fields, tt.field) {
				t.Fatalf("the Go decoder names %q (%v), want %q", fields, err, tt.field)
			}
		})
	}
}

// decoderForEnvelope picks the decoder of the envelope's type, as a
// consumer of that subject would.
func decoderForEnvelope(t *testing.T, payload string) func([]byte) (any, error) {
	var probe struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal([]byte(payload), &probe)
	switch {
	case probe.Type == TypeDeployRequest:
		return codecs["deploy-request"].decode
	case probe.Type == TypeHostAction:
		return codecs["host-action"].decode
	case probe.Type == TypeHostResult:
		return codecs["host-result"].decode
	case strings.HasPrefix(probe.Type, EventTypePrefix):
		return codecs["event"].decode
	}
	return func(b []byte) (any, error) { return DecodeEnvelope(b) }
}

// The schemas must name exactly the JSON fields of the Go types, so that
// neither can change without the other.
func TestSchemasMatchGoTypes(t *testing.T) {
	docs := map[string]map[string]any{}
	for _, name := range SchemaNames() {
		b, _ := Schema(name)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs[name] = doc
	}
	tests := []struct {
		schema, pointer string
		typ             any
	}{
		{"deploy-request", "", DeployRequest{}},
		{"deploy-request", "/properties/failure", FailurePolicy{}},
		{"defs", "/$defs/phase", PhaseSpec{}},
		{"defs", "/$defs/selector", Selector{}},
		{"defs", "/$defs/check", CheckSpec{}},
		{"defs", "/$defs/httpcheck", HTTPCheck{}},
		{"defs", "/$defs/tcpcheck", TCPCheck{}},
		{"defs", "/$defs/commandcheck", CommandCheck{}},
		{"defs", "/$defs/prometheuscheck", PrometheusCheck{}},
		{"defs", "/$defs/natscheck", NATSCheck{}},
		{"verification-request", "", VerificationRequest{}},
		{"verification-request", "/properties/host", VerificationHost{}},
		{"verification-reply", "", VerificationReply{}},
		{"defs", "/$defs/driver", DriverSpec{}},
		{"defs", "/$defs/simdriver", SimDriver{}},
		{"defs", "/$defs/execdriver", ExecDriver{}},
		{"defs", "/$defs/sshdriver", SSHDriver{}},
		{"defs", "/$defs/agentdriver", AgentDriver{}},
		{"defs", "/$defs/hosthooks", HostHooks{}},
		{"defs", "/$defs/hosthook", HostHook{}},
		{"defs", "/$defs/haproxyhook", HAProxyHook{}},
		{"defs", "/$defs/phaseref", PhaseRef{}},
		{"defs", "/$defs/checkresult", CheckResult{}},
		{"defs", "/$defs/fielderror", FieldError{}},
		{"defs", "/$defs/counts", Counts{}},
		{"defs", "/$defs/hostoutcome", HostOutcome{}},
		{"defs", "/$defs/plan", Plan{}},
		{"defs", "/$defs/plannedphase", PlannedPhase{}},
		{"defs", "/$defs/plannedhost", PlannedHost{}},
		{"defs", "/$defs/window", Window{}},
		{"envelope", "", Envelope{}},
		{"event", "", Event{}},
		{"host-action", "", HostAction{}},
		{"host-action", "/properties/host", ActionHost{}},
		{"host-action", "/properties/checks/items", NamedCheck{}},
		{"host-result", "", HostResult{}},
		{"control-command", "", ControlCommand{}},
		{"window-input", "", WindowInput{}},
		{"admission", "", Admission{}},
		{"agent-act-result", "", AgentActResult{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema+tt.pointer, func(t *testing.T) {
			node := any(docs[tt.schema])
			for _, tok := range strings.Split(strings.TrimPrefix(tt.pointer, "/"), "/") {
				if tok == "" {
					continue
				}
				node = node.(map[string]any)[tok]
			}
			props, _ := node.(map[string]any)["properties"].(map[string]any)
			var inSchema []string
			for k := range props {
				inSchema = append(inSchema, k)
			}
			slices.Sort(inSchema)
			inGo := slices.Clone(fieldsOf(reflect.TypeOf(tt.typ)).names)
			slices.Sort(inGo)
			if !slices.Equal(inSchema, inGo) {
				t.Fatalf("schema properties %v, Go fields %v", inSchema, inGo)
			}
		})
	}
}
