package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestDecodeAction(t *testing.T) {
	good := action("r1", "web-01", simDriver())
	enc := func(typ string, a any) []byte {
		b, err := contracts.Marshal(typ, "id-1", "test", "", time.Now(), a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	noID := good
	noID.ID = ""
	badEnv := good
	badEnv.Environment = "prod.eu"
	tests := []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{name: "good", body: enc(contracts.TypeHostAction, good)},
		{name: "not json", body: []byte("{"), wantErr: "JSON"},
		{name: "wrong type", body: enc(contracts.TypeHostResult, good), wantErr: "type"},
		{name: "no id", body: enc(contracts.TypeHostAction, noID), wantErr: "data.id"},
		{name: "environment not a token", body: enc(contracts.TypeHostAction, badEnv), wantErr: "data.environment"},
		{name: "data of the wrong shape", body: enc(contracts.TypeHostAction, map[string]any{"id": 5}), wantErr: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := decodeAction(tt.body)
			if tt.wantErr == "" {
				if err != nil || a.ID != good.ID {
					t.Fatalf("decode = %+v, %v", a, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzDecodeAction(f *testing.F) {
	good, _ := contracts.Marshal(contracts.TypeHostAction, "id-1", "test", "", time.Unix(0, 0), action("r1", "web-01", execDriver("x", "{{.Host.Name}}")))
	f.Add(good)
	f.Add([]byte(`{"specversion":"1.0","type":"io.rollwave.host.action.v1","id":"x","source":"s","data":{"id":"a","rollout":"r","environment":"e"}}`))
	f.Add([]byte(`{"specversion":"1.0","type":"io.rollwave.host.action.v1","id":"x","source":"s","data":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAction(b)
		if err != nil {
			return
		}
		// Whatever decodes can be routed.
		if a.ID == "" || !contracts.ValidToken(a.Rollout) || !contracts.ValidToken(a.Environment) {
			t.Fatalf("accepted an unroutable action %+v", a)
		}
	})
}

func TestParseAdvisory(t *testing.T) {
	ok := `{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x","timestamp":"2026-01-01T00:00:00Z","stream":"ROLLWAVE_ACTIONS","consumer":"executor-default","stream_seq":42,"deliveries":5}`
	adv, err := parseAdvisory([]byte(ok))
	if err != nil || adv.StreamSeq != 42 || adv.Deliveries != 5 {
		t.Fatalf("parse = %+v, %v", adv, err)
	}
	for _, bad := range []string{`{`, `{"type":"io.nats.jetstream.advisory.v1.nak","stream_seq":1}`,
		`{"type":"io.nats.jetstream.advisory.v1.max_deliver"}`, `{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream_seq":-1}`} {
		if _, err := parseAdvisory([]byte(bad)); err == nil {
			t.Errorf("parse(%s) accepted", bad)
		}
	}
}

func FuzzParseAdvisory(f *testing.F) {
	f.Add([]byte(`{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"S","consumer":"C","stream_seq":42,"deliveries":5}`))
	f.Add([]byte(`{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream_seq":0}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		adv, err := parseAdvisory(b)
		if err == nil && adv.StreamSeq == 0 {
			t.Fatal("accepted an advisory without a sequence")
		}
	})
}
