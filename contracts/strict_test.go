package contracts

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantInvalid asserts err is an invalid_request *Error about field whose
// message contains msg.
func wantInvalid(t *testing.T, err error, field, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error about %q", err, err, field)
	}
	if e.Code != CodeInvalid || e.Field != field || !strings.Contains(e.Message, msg) {
		t.Fatalf("got %s %q: %q, want invalid_request %q: ...%q...", e.Code, e.Field, e.Message, field, msg)
	}
}

func TestDecodeStrictNamesTheFieldPath(t *testing.T) {
	const base = `{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"a"},%s]}`
	phase := func(s string) string { return strings.Replace(base, "%s", s, 1) }
	tests := []struct {
		name, in, field, msg string
	}{
		// encoding/json gives no path at all for errors of UnmarshalJSON methods.
		{"size in a phase", phase(`{"name":"b","batch":"x"}`), "phases[1].batch", `got "x"`},
		{"step of a list", phase(`{"name":"b","batch":[1,"x"]}`), "phases[1].batch[1]", `got "x"`},
		{"empty list", phase(`{"name":"b","batch":[]}`), "phases[1].batch", "at least one size"},
		{"size of wrong kind", phase(`{"name":"b","batch":true}`), "phases[1].batch", "got a boolean"},
		{"percentage not whole", phase(`{"name":"b","batch":"2.5%"}`), "phases[1].batch", "not a whole number"},
		{"size out of range", phase(`{"name":"b","batch":99999999999999999999}`), "phases[1].batch", "out of range"},
		{"duration", `{"checks":{"healthz":{"http":{"url":"x","timeout":"zz"}}}}`, "checks.healthz.http.timeout", `"zz" is not a duration`},
		{"duration out of range", `{"checks":{"healthz":{"http":{"url":"x","timeout":1e300}}}}`, "checks.healthz.http.timeout", "out of range"},
		{"duration of wrong kind", `{"driver":{"exec":{"command":["x"],"timeout":[]}}}`, "driver.exec.timeout", "got a list"},
		{"max_failed", `{"failure":{"max_failed":"q"}}`, "failure.max_failed", `got "q"`},
		// encoding/json drops indices and map keys from type errors.
		{"type in a list", phase(`{"name":3}`), "phases[1].name", "must be a string, got the number 3"},
		{"type under a map key", `{"checks":{"healthz":{"http":{"url":5}}}}`, "checks.healthz.http.url", "must be a string"},
		{"map value", `{"params":{"a":1}}`, "params.a", "must be a string"},
		{"odd map key", `{"params":{"a b":1}}`, `params["a b"]`, "must be a string"},
		{"list element", `{"driver":{"exec":{"command":["ok",1]}}}`, "driver.exec.command[1]", "must be a string"},
		{"fraction into int", `{"checks":{"h":{"http":{"url":"x","status":200.5}}}}`, "checks.h.http.status", "must be a whole number, got the number 200.5"},
		{"int out of range", `{"checks":{"h":{"http":{"url":"x","status":1e30}}}}`, "checks.h.http.status", "must be a whole number"},
		{"integer literal out of range", `{"checks":{"h":{"http":{"url":"x","status":99999999999999999999}}}}`, "checks.h.http.status", "out of range"},
		{"time", `{"start_at":"tomorrow"}`, "start_at", "RFC 3339"},
		{"object expected", `{"phases":[{"name":"a","selector":"east"}]}`, "phases[0].selector", `must be an object, got the string "east"`},
		{"list expected", `{"phases":{"name":"a"}}`, "phases", "must be a list, got an object"},
		{"root", `[1]`, "", "must be an object, got a list"},
		// encoding/json names only the last key of an unknown field.
		{"unknown nested", phase(`{"name":"b","batchx":1}`), "phases[1].batchx", "is not a known field"},
		{"unknown deep", `{"checks":{"healthz":{"http":{"urlx":5}}}}`, "checks.healthz.http.urlx", "is not a known field"},
		{"case differs", `{"ID":"r1"}`, "ID", `did you mean "id"?`},
		{"repeated key", `{"app":"a","app":"b"}`, "app", "appears more than once"},
		{"repeated map key", `{"params":{"a":"1","a":"2"}}`, "params.a", "appears more than once"},
		{"malformed", `{"app":"a",}`, "", "malformed JSON at byte"},
		{"truncated", `{"app":"a"`, "", "unexpected end"},
		{"trailing data", `{"app":"a"} {}`, "", "unexpected data after the JSON value"},
		{"trailing bracket", `{"app":"a"}]`, "", "unexpected data after the JSON value"},
		{"empty", ` `, "", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r DeployRequest
			wantInvalid(t, DecodeStrict([]byte(tt.in), &r), tt.field, tt.msg)
		})
	}
}

func TestDecodeStrictAccepts(t *testing.T) {
	var r DeployRequest
	in := `{"id":"r1","app":"web","version":"1.0.0","environment":"qa","reason":null,"driver":null,
		"phases":[{"name":"a","batch":null,"selector":null,"hosts":null}],"failure":{"max_failed":null}}`
	if err := DecodeStrict([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.Driver != nil || !r.Phases[0].Batch.IsZero() || r.Failure.MaxFailed != (Size{}) {
		t.Fatalf("null did not leave fields unset: %+v", r)
	}
}

func TestDecodeStrictOtherTypes(t *testing.T) {
	// DecodeStrict serves every request/reply body, so it must follow
	// encoding/json's rules for embedded structs, pointers and leaves.
	type inner struct {
		A int `json:"a"`
	}
	type withEmbedded struct {
		RolloutSummary
		*inner
		Extra json.RawMessage `json:"extra"`
		Any   any             `json:"any"`
		Bytes []byte          `json:"bytes"`
		Arr   [2]int          `json:"arr"`
		PP    **Duration      `json:"pp"`
		IntM  map[int]string  `json:"intm"`
		Str   int             `json:"str,string"`
		Skip  string          `json:"-"`
		Plain string
	}
	in := `{"rollout":"r","counts":{"total":1,"succeeded":0,"failed":0,"running":0,"pending":1},"a":3,
		"extra":{"x":[1]},"any":[{"y":null}],"bytes":"aGk=","arr":[1,2],"pp":"2s","intm":{"1":"x"},"str":"5","Plain":"p"}`
	var v withEmbedded
	v.inner = &inner{}
	if err := DecodeStrict([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.Rollout != "r" || v.Counts.Pending != 1 || v.A != 3 || string(v.Bytes) != "hi" || v.Arr[1] != 2 ||
		(**v.PP).D() != 2*time.Second || v.IntM[1] != "x" || v.Str != 5 || v.Plain != "p" {
		t.Fatalf("decoded %+v", v)
	}
	for in, field := range map[string]string{
		`{"counts":{"total":"1"}}`: "counts.total",
		`{"-":"x"}`:                "-",
		`{"skip":"x"}`:             "skip",
		`{"intm":{"x":"y"}}`:       "intm",
		`{"arr":[1,"2"]}`:          "arr[1]",
		`{"pp":"x"}`:               "pp",
		`{"plain":"p"}`:            "plain",
		`{"str":"x"}`:              "str",
	} {
		var v withEmbedded
		err := DecodeStrict([]byte(in), &v)
		var e *Error
		if !errors.As(err, &e) || e.Field != field {
			t.Errorf("%s: got %v, want an error about %q", in, err, field)
		}
	}
	if err := DecodeStrict([]byte(`{}`), withEmbedded{}); err == nil {
		t.Error("decoding into a non-pointer must fail")
	}
}

func TestDecodeTolerantSkipsUnknownButNotMiscased(t *testing.T) {
	var a HostAction
	if err := decodeTolerant([]byte(`{"id":"x","future":{"deep":[1,{"a":2}]},"host":{"name":"h","later":1}}`), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != "x" || a.Host.Name != "h" {
		t.Fatalf("decoded %+v", a)
	}
	wantInvalid(t, decodeTolerant([]byte(`{"Id":"x"}`), &a), "Id", `did you mean "id"?`)
	wantInvalid(t, decodeTolerant([]byte(`{"future":1,"future":2}`), &a), "future", "more than once")
	wantInvalid(t, decodeTolerant([]byte(`{"future":[1,}`), &a), "", "malformed")
}

func TestSizeJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		out     string
		problem string // of Size.problem(false), the batch rule
		err     string
	}{
		{in: `2`, want: Size{Count: 2}, out: `2`},
		{in: `"2"`, want: Size{Count: 2}, out: `2`},
		{in: `" 3 "`, want: Size{Count: 3}, out: `3`},
		{in: `"25%"`, want: Size{Percent: 25}, out: `"25%"`},
		{in: `"100%"`, want: Size{Percent: 100}, out: `"100%"`},
		{in: `"0%"`, want: Size{}, out: `0`, problem: "at least 1"},
		{in: `0`, want: Size{}, out: `0`, problem: "at least 1"},
		{in: `"150%"`, want: Size{Percent: 150}, out: `"150%"`, problem: "between 1% and 100%, got 150%"},
		{in: `"-5%"`, want: Size{Percent: -5}, out: `"-5%"`, problem: "between 1% and 100%"},
		{in: `-1`, want: Size{Count: -1}, out: `-1`, problem: "must not be negative"},
		{in: `"x"`, err: `got "x"`},
		{in: `"%"`, err: "not a whole number"},
		{in: `2.5`, err: `got "2.5"`},
		{in: `[]`, err: "got a list"},
		{in: `{}`, err: "got an object"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var s Size
			err := json.Unmarshal([]byte(tt.in), &s)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s != tt.want {
				t.Fatalf("got %+v, want %+v", s, tt.want)
			}
			out, _ := json.Marshal(s)
			if string(out) != tt.out {
				t.Fatalf("encodes as %s, want %s", out, tt.out)
			}
			if p := s.problem(false); !strings.Contains(p, tt.problem) || (tt.problem == "") != (p == "") {
				t.Fatalf("problem %q, want %q", p, tt.problem)
			}
		})
	}
	if p := (Size{}).problem(true); p != "" {
		t.Fatalf("0 must be a legal threshold, got %q", p)
	}
	if p := (Size{Percent: 101}).problem(true); !strings.Contains(p, "between 0% and 100%") {
		t.Fatalf("threshold problem %q", p)
	}
}

func TestSizeOf(t *testing.T) {
	for _, tt := range []struct {
		s    Size
		n    int
		want int
	}{
		{Size{Count: 2}, 10, 2}, {Size{Percent: 25}, 3, 1}, {Size{Percent: 25}, 8, 2},
		{Size{Percent: 100}, 7, 7}, {Size{}, 5, 0},
	} {
		if got := tt.s.Of(tt.n); got != tt.want {
			t.Errorf("%v of %d = %d, want %d", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestBatchSpecJSON(t *testing.T) {
	tests := []struct {
		in   string
		want []Size
		out  string
		err  string
	}{
		{in: `2`, want: []Size{{Count: 2}}, out: `2`},
		{in: `"25%"`, want: []Size{{Percent: 25}}, out: `"25%"`},
		{in: `[1,5,"20%"]`, want: []Size{{Count: 1}, {Count: 5}, {Percent: 20}}, out: `[1,5,"20%"]`},
		{in: `[3]`, want: []Size{{Count: 3}}, out: `3`},
		{in: `"0%"`, want: []Size{{}}, out: `0`},
		{in: `"150%"`, want: []Size{{Percent: 150}}, out: `"150%"`},
		{in: `[]`, err: "at least one size"},
		{in: `"x"`, err: `got "x"`},
		{in: `[1,"x"]`, err: `[1]: must be a whole number`},
		{in: `[[1]]`, err: "got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b BatchSpec
			err := json.Unmarshal([]byte(tt.in), &b)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Steps, tt.want) {
				t.Fatalf("got %+v, want %+v", b.Steps, tt.want)
			}
			out, _ := json.Marshal(b)
			if string(out) != tt.out {
				t.Fatalf("encodes as %s, want %s", out, tt.out)
			}
		})
	}
	// In a request, an unset batch is omitted and reads back as unset.
	out, _ := json.Marshal(PhaseSpec{Name: "a"})
	if string(out) != `{"name":"a"}` {
		t.Fatalf("unset batch encodes as %s", out)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string
		err  string
	}{
		{in: `"2s"`, want: 2 * time.Second, out: `"2s"`},
		{in: `"1m30s"`, want: 90 * time.Second, out: `"1m30s"`},
		{in: `"1.5s"`, want: 1500 * time.Millisecond, out: `"1.5s"`},
		{in: `2`, want: 2 * time.Second, out: `"2s"`},
		{in: `0.25`, want: 250 * time.Millisecond, out: `"250ms"`},
		{in: `"0"`, want: 0, out: `"0s"`},
		{in: `"-1s"`, want: -time.Second, out: `"-1s"`},
		{in: `null`, want: 0, out: `"0s"`},
		{in: `"2"`, err: `"2" is not a duration`},
		{in: `"soon"`, err: "not a duration"},
		{in: `true`, err: "got a boolean"},
		{in: `1e10`, err: "out of range"},
		{in: `-1e10`, err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.D() != tt.want {
				t.Fatalf("got %v, want %v", d.D(), tt.want)
			}
			out, _ := json.Marshal(d)
			if string(out) != tt.out {
				t.Fatalf("encodes as %s, want %s", out, tt.out)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{KeyPath("", "a"), "a"},
		{KeyPath("checks", "healthz"), "checks.healthz"},
		{KeyPath("params", "a.b"), `params["a.b"]`},
		{KeyPath("", ""), `[""]`},
		{IndexPath("phases", 2), "phases[2]"},
		{JoinPath("phases[0].batch", "[1]"), "phases[0].batch[1]"},
		{JoinPath("driver", "exec.command"), "driver.exec.command"},
		{JoinPath("", "x"), "x"},
		{JoinPath("x", ""), "x"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
