// Package input turns what HTTP clients send the gateway (bodies, path
// values, query strings) into contract values, or into invalid_request
// errors that name the offending field or parameter. It does no I/O.
package input

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/rollwave/rollwave/contracts"
)

// DeployBody decodes the body of POST /v1/rollouts and POST /v1/plan: a bare
// contracts.DeployRequest, or an envelope exactly as a publisher sends it on
// the deploy subject, read by contracts.DecodeDeployRequest as the planner
// reads it. A bare request without an id gets newID(); an envelope always
// has one, which a request without its own takes.
func DeployBody(b []byte, newID func() string) (contracts.DeployRequest, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return contracts.DeployRequest{}, contracts.Invalid("", "the body is empty; send a deploy request as JSON")
	}
	if !isEnvelope(b) {
		if _, hasID := peekID(b); !hasID {
			b = withID(b, newID())
		}
	}
	return contracts.DecodeDeployRequest(b)
}

// isEnvelope reports whether b is a JSON object with a specversion member,
// which no deploy request has.
func isEnvelope(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	_, ok := probe["specversion"]
	return ok
}

// peekID returns the request's id when b is an object whose id is a
// non-empty string. Any other id (absent, "", null) counts as missing; an id
// of the wrong type counts as present so that the decoder reports it.
func peekID(b []byte) (string, bool) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil || probe == nil {
		return "", true // not an object (null decodes to a nil map): let the decoder say what is wrong
	}
	raw, ok := probe["id"]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var id string
	if json.Unmarshal(raw, &id) != nil {
		return "", true
	}
	return id, id != ""
}

// withID returns the object b with its id set. b is a JSON object (peekID
// has parsed it).
func withID(b []byte, id string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil || obj == nil {
		return b
	}
	obj["id"], _ = json.Marshal(id)
	out, err := json.Marshal(obj)
	if err != nil {
		return b
	}
	return out
}

// Token checks a value that ends up in a subject, such as a rollout id in a
// path or an environment in a query.
func Token(name, v string) error { return contracts.CheckToken(name, v) }

// WindowID checks a calendar window id from a path.
func WindowID(v string) error {
	if v == "" || len(v) > 128 {
		return contracts.Invalid("id", "must be 1-128 characters, got %d", len(v))
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || r == '/' {
			return contracts.Invalid("id", "must not contain spaces, control characters or '/', got %q", v)
		}
	}
	return nil
}

// Optional JSON bodies (control commands) may be empty.

// OptionalJSON decodes b into v strictly unless b is empty.
func OptionalJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return contracts.DecodeStrict(b, v)
}

// query reads single-valued parameters, rejecting unknown and repeated ones
// so that a typo ("env=") is an error instead of a silent "everything".
type query struct {
	v   url.Values
	err error
}

func newQuery(v url.Values, allowed ...string) *query {
	q := &query{v: v}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names) // report the same parameter every time
	for _, name := range names {
		vals := v[name]
		if !contains(allowed, name) {
			q.err = contracts.Invalid(name, "is not a known query parameter; known: %s", strings.Join(allowed, ", "))
			return q
		}
		if len(vals) > 1 {
			q.err = contracts.Invalid(name, "is given %d times; give it once", len(vals))
			return q
		}
	}
	return q
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// token returns an optional subject-token parameter.
func (q *query) token(name string) string {
	v := q.v.Get(name)
	if q.err == nil && v != "" {
		q.err = Token(name, v)
	}
	return v
}

// ListRollouts parses GET /v1/rollouts?environment=&state=&limit=.
func ListRollouts(v url.Values) (contracts.RolloutListQuery, error) {
	q := newQuery(v, "environment", "state", "limit")
	out := contracts.RolloutListQuery{Environment: q.token("environment")}
	if s := q.v.Get("state"); s != "" && q.err == nil {
		if !knownState(contracts.State(s)) {
			q.err = contracts.Invalid("state", "must be one of %s, got %q", stateNames(), s)
		}
		out.State = contracts.State(s)
	}
	if s := q.v.Get("limit"); s != "" && q.err == nil {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxListLimit {
			q.err = contracts.Invalid("limit", "must be a whole number from 1 to %d, got %q", MaxListLimit, s)
		}
		out.Limit = n
	}
	if q.err != nil {
		return contracts.RolloutListQuery{}, q.err
	}
	return out, nil
}

// MaxListLimit bounds how many rollouts one list asks for.
const MaxListLimit = 1000

var states = []contracts.State{
	contracts.StatePlanned, contracts.StateQueued, contracts.StateRunning, contracts.StatePaused,
	contracts.StateCompleted, contracts.StateFailed, contracts.StateAborted, contracts.StateRejected,
	contracts.StateRolledBack,
}

func knownState(s contracts.State) bool {
	for _, k := range states {
		if k == s {
			return true
		}
	}
	return false
}

func stateNames() string {
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// EnvironmentOnly parses queries whose only parameter is an optional
// environment (inventory, calendar windows).
func EnvironmentOnly(v url.Values) (string, error) {
	q := newQuery(v, "environment")
	env := q.token("environment")
	return env, q.err
}

// Events is a parsed GET /v1/events query.
type Events struct {
	Environment string
	Rollout     string
	Type        contracts.EventType
	// After is the stream sequence to start after; FromNow means start with
	// events published from now on and After is unused.
	After   uint64
	FromNow bool
	// Snapshot ends the stream once the events that exist when the request
	// arrives have been sent, instead of following new ones.
	Snapshot bool
}

// LastEventIDHeader is the header an EventSource sends when it reconnects.
const LastEventIDHeader = "Last-Event-ID"

// filterToken checks an event filter value. Besides subject tokens it
// accepts the placeholders the planner files malformed requests under
// (contracts.UnknownEnvToken, "_invalid-<seq>"), which start with '_'.
func (q *query) filterToken(name string) string {
	v := q.v.Get(name)
	if q.err == nil && v != "" && !contracts.ValidToken(strings.TrimPrefix(v, "_")) {
		q.err = Token(name, v)
	}
	return v
}

// EventsQuery parses GET /v1/events?environment=&rollout=&type=&since=&snapshot=
// and the Last-Event-ID header, which wins over since because a browser
// reconnecting repeats the original URL and sends the last id it saw.
func EventsQuery(v url.Values, lastEventID string) (Events, error) {
	q := newQuery(v, "environment", "rollout", "type", "since", "snapshot")
	out := Events{
		Environment: q.filterToken("environment"),
		Rollout:     q.filterToken("rollout"),
		FromNow:     true,
	}
	if t := q.v.Get("type"); t != "" && q.err == nil {
		if !knownEventType(contracts.EventType(t)) {
			q.err = contracts.Invalid("type", "must be one of %s, got %q", eventTypeNames(), t)
		}
		out.Type = contracts.EventType(t)
	}
	if s := q.v.Get("snapshot"); s != "" && q.err == nil {
		b, err := strconv.ParseBool(s)
		if err != nil {
			q.err = contracts.Invalid("snapshot", "must be true or false, got %q", s)
		}
		out.Snapshot = b
	}
	from, name := q.v.Get("since"), "since"
	if lastEventID != "" {
		from, name = lastEventID, LastEventIDHeader
	}
	if from != "" && q.err == nil {
		n, err := strconv.ParseUint(from, 10, 64)
		if err != nil {
			q.err = contracts.Invalid(name, "must be a stream sequence (a whole number from 0), got %q", from)
		}
		out.After, out.FromNow = n, false
	}
	if q.err != nil {
		return Events{}, q.err
	}
	return out, nil
}

// Filter is the EVENTS stream subject filter of the query.
func (e Events) Filter() string { return contracts.EventFilter(e.Environment, e.Rollout, e.Type) }

func knownEventType(t contracts.EventType) bool {
	for _, k := range contracts.EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

func eventTypeNames() string {
	names := make([]string, len(contracts.EventTypes))
	for i, t := range contracts.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
