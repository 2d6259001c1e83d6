package contracts

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addGoldens seeds a fuzz corpus with the golden payloads whose names start
// with one of prefixes.
func addGoldens(f *testing.F, prefixes ...string) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		for _, p := range prefixes {
			if strings.HasPrefix(filepath.Base(file), p) {
				b, err := os.ReadFile(file)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
}

// mustBeInvalid checks that a rejection is a typed invalid_request error:
// outside input never turns into an internal error.
func mustBeInvalid(t *testing.T, err error) {
	t.Helper()
	if e := AsError(err); e.Code != CodeInvalid || e.Message == "" {
		t.Fatalf("rejection %v (%T) is not a typed invalid_request error", err, err)
	}
}

func FuzzDecodeDeployRequest(f *testing.F) {
	addGoldens(f, "deploy-request")
	for _, s := range []string{
		minimalRequest,
		`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"a","batch":[1,"5","20%"]},{"name":"b","hosts":["h1"]}],"failure":{"max_failed":"0%"}}`,
		`{"id":"r1","app":"web","version":"1.0.0-rc.1+b","environment":"qa","phases":[{"name":"a"}],"start_at":"2026-11-27T03:00:00+01:00","checks":{"h":{"http":{"url":"{{.Host.Address}}","timeout":1.5}}},"phases":[]}`,
		`{"specversion":"1.0","type":"io.rollwave.deploy.request.v1","id":"e1","source":"s","data":{"app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"a"}]}}`,
		`{"phases":[{"name":"a","batch":[]}]}`, `[]`, `null`, `{"ID":1}`, `{"params":{"a":"b","a":"c"}}`,
		`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","action_timeout":"5m","failure":{"on_failure":"rollback"},"checks":{"h":{"http":{"url":"http://x/"}}},"phases":[{"name":"a","hosts":["h1"],"gate":{"after":true,"timeout":"1h","on_timeout":"rollback"}},{"name":"bake","wait":"10m"},{"name":"ok","gate":{}},{"name":"m","analysis":{"checks":["h"],"interval":"1m","count":3,"failure_limit":1}},{"name":"rest"}]}`,
		`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","strategy":"canary","checks":{"h":{"http":{"url":"http://x/"}}},"canary":{"hosts":"10%","analysis":{"checks":["h"],"interval":"30s","duration":"5m"},"promote":"manual","batch":[1,"50%"]}}`,
		`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","strategy":"blue-green","blue_green":{"label":"color","live":"blue","keep":"10m","traffic":{"http":{"method":"PUT","url":"http://lb/{{.Target}}","status":204}}}}`,
		`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"bake","wait":"10m","hosts":["h1"]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeDeployRequest(b)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		r2, err := DecodeDeployRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request is rejected: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the request:\n%#v\n%#v\n%s", r, r2, again)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	addGoldens(f, "")
	for _, s := range []string{
		`{"specversion":"1.0","type":"t","id":"i","source":"s","data":1,"ext1":"x"}`,
		`{"specversion":"1.0","type":"t","id":"i","source":"s","time":"0000-01-01T00:30:00+01:00","data":{}}`,
		`{"specversion":"1.0","type":"t","id":"i","source":"s","data":"<&>","datacontenttype":"application/json; charset=utf-8"}`,
		`{"specversion":"1.0","type":"t","id":"i","source":"s","data":{},"Data":{}}`,
		`{}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
		env2, err := DecodeEnvelope(again)
		if err != nil {
			t.Fatalf("re-encoded envelope is rejected: %v\n%s", err, again)
		}
		var d1, d2 any
		if err := json.Unmarshal(env.Data, &d1); err != nil {
			t.Fatalf("accepted data is not JSON: %v", err)
		}
		if err := json.Unmarshal(env2.Data, &d2); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d1, d2) {
			t.Fatalf("data changed: %s vs %s", env.Data, env2.Data)
		}
		env.Data, env2.Data = nil, nil
		if !reflect.DeepEqual(env, env2) {
			t.Fatalf("round trip changed the envelope:\n%#v\n%#v", env, env2)
		}
	})
}

// FuzzDecodeMessages covers the decoders of messages between services:
// events, host actions and host results.
func FuzzDecodeMessages(f *testing.F) {
	addGoldens(f, "event", "host-")
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip := func(decode func([]byte) (any, error)) {
			v, err := decode(b)
			if err != nil {
				mustBeInvalid(t, err)
				return
			}
			env, err := DecodeEnvelope(b)
			if err != nil {
				t.Fatalf("decoded a message whose envelope is invalid: %v", err)
			}
			first, err := Marshal(env.Type, env.ID, env.Source, env.Subject, env.Time, v)
			if err != nil {
				t.Fatalf("accepted message does not encode: %v", err)
			}
			v2, err := decode(first)
			if err != nil {
				t.Fatalf("re-encoded message is rejected: %v\n%s", err, first)
			}
			second, _ := Marshal(env.Type, env.ID, env.Source, env.Subject, env.Time, v2)
			if !bytes.Equal(first, second) {
				t.Fatalf("round trip is not stable:\n%s\n%s", first, second)
			}
		}
		roundTrip(func(b []byte) (any, error) { _, ev, err := DecodeEvent(b); return ev, err })
		roundTrip(func(b []byte) (any, error) { return DecodeHostAction(b) })
		roundTrip(func(b []byte) (any, error) { return DecodeHostResult(b) })
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "0.0.0-0", "1.0.0-alpha.1+b.2", "01.0.0", "v1", "1.0.0-", "18446744073709551616.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if v.String() != s {
			t.Fatalf("%q reads as %q", s, v.String())
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q does not equal itself", s)
		}
	})
}
