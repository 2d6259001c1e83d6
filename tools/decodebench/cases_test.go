package decodebench

import "strings"

const base = `{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"a"},%s]}`

func phase(s string) string { return strings.Replace(base, "%s", s, 1) }

type tcase struct{ name, in, field, msg string }

var cases = []tcase{
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
