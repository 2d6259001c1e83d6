package contracts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// futurePrefix marks the keys of testdata/future that no current type has:
// fields a newer producer adds during a rolling upgrade.
const futurePrefix = "from_future"

// stripFuture removes every key that starts with futurePrefix, giving the
// message as the current version writes it.
func stripFuture(t *testing.T, b []byte) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if strings.HasPrefix(k, futurePrefix) {
					delete(v, k)
					continue
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// envelopeData decodes an envelope's data into a fresh T, strictly or not.
func envelopeData[T any](wantType string) func([]byte, bool) (any, error) {
	return func(b []byte, strict bool) (any, error) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			return nil, err
		}
		var v T
		if strict {
			err = env.DecodeData(wantType, &v)
		} else {
			err = env.DecodeDataTolerant(wantType, &v)
		}
		return v, err
	}
}

func plain[T any]() func([]byte, bool) (any, error) {
	return func(b []byte, strict bool) (any, error) {
		var v T
		var err error
		if strict {
			err = DecodeStrict(b, &v)
		} else {
			err = DecodeTolerant(b, &v)
		}
		return v, err
	}
}

// Every message between services decodes when a newer producer adds fields
// at any level, to the same value as without them; the strict decoder of
// outside input refuses the same message, naming the new field.
func TestInternalMessagesSkipFieldsFromTheFuture(t *testing.T) {
	decoders := map[string]func([]byte, bool) (any, error){
		"event.planned.envelope.json":     envelopeData[Event](EventTypeID(EventPlanned)),
		"event.host_failed.envelope.json": envelopeData[Event](EventTypeID(EventHostFailed)),
		"event.planned_ref.envelope.json": envelopeData[Event](EventTypeID(EventPlanned)),
		"host-action.envelope.json":       envelopeData[HostAction](TypeHostAction),
		"host-result.envelope.json":       envelopeData[HostResult](TypeHostResult),
		"agent-act-result.envelope.json":  envelopeData[AgentActResult](TypeAgentActResult),
		"admission.blocked.json":          plain[Admission](),
		"environment.json":                plain[Environment](),
		"targets-query.json":              plain[TargetsQuery](),
		"admit-query.json":                plain[AdmitQuery](),
	}
	files, err := filepath.Glob("testdata/future/*.json")
	if err != nil || len(files) != len(decoders) {
		t.Fatalf("future files %v (%v), want one per decoder: %d", files, err, len(decoders))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			decode, ok := decoders[name]
			if !ok {
				t.Fatalf("no decoder for %s", name)
			}
			future, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			current := stripFuture(t, future)
			want, err := decode(current, true)
			if err != nil {
				t.Fatalf("without the future fields the message is not a current one: %v", err)
			}
			got, err := decode(future, false)
			if err != nil {
				t.Fatalf("tolerant decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the future fields changed the value:\n got %+v\nwant %+v", got, want)
			}
			_, err = decode(future, true)
			if e := AsError(err); err == nil || !strings.Contains(e.Field, futurePrefix) {
				t.Fatalf("strict decode = %v, want the future field refused", err)
			}
		})
	}
	// The service-facing helpers agree.
	b, _ := os.ReadFile("testdata/future/host-action.envelope.json")
	if _, err := DecodeHostAction(b); err != nil {
		t.Errorf("DecodeHostAction: %v", err)
	}
	b, _ = os.ReadFile("testdata/future/host-result.envelope.json")
	if _, err := DecodeHostResult(b); err != nil {
		t.Errorf("DecodeHostResult: %v", err)
	}
	b, _ = os.ReadFile("testdata/future/event.planned.envelope.json")
	if _, ev, err := DecodeEvent(b); err != nil || ev.Plan == nil {
		t.Errorf("DecodeEvent: %v", err)
	}
}
