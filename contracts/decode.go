package contracts

import (
	"encoding/json"
	"errors"
	"strings"
)

// DecodeDeployRequest reads a deploy request as it arrives from outside:
// either an envelope of type TypeDeployRequest (what publishers send on
// SubjectDeployRequest) or the bare request JSON (what the HTTP API takes).
// Decoding is strict: unknown fields, wrong types and repeated keys are
// errors that name the field. A request without an id takes the envelope's.
//
// The error is a *Error when the message cannot be read and FieldErrors
// listing every problem when it reads but is invalid. The request is
// returned in both cases, as far as it was read, so that the caller can
// report the rejection against its id.
func DecodeDeployRequest(b []byte) (DeployRequest, error) {
	var r DeployRequest
	if isEnvelope(b) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			r.ID = env.ID
			return r, err
		}
		if err := env.DecodeData(TypeDeployRequest, &r); err != nil {
			return DeployRequest{ID: env.ID}, err
		}
		if r.ID == "" {
			r.ID = env.ID
		}
	} else if err := DecodeStrict(b, &r); err != nil {
		return DeployRequest{}, err
	}
	r.normalize()
	return r, r.Validate()
}

// isEnvelope reports whether b is a JSON object with a "specversion" key.
func isEnvelope(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	_, ok := probe["specversion"]
	return ok
}

// normalize gives equal requests equal Go values: empty lists and maps
// become nil (JSON omits them on the way out) and start_at is UTC.
func (r *DeployRequest) normalize() {
	if r.StartAt != nil {
		t := r.StartAt.UTC()
		r.StartAt = &t
	}
	r.Phases = nilIfEmpty(r.Phases)
	for i := range r.Phases {
		p := &r.Phases[i]
		p.Hosts = nilIfEmpty(p.Hosts)
		p.Checks = nilIfEmpty(p.Checks)
		if p.Selector != nil && len(p.Selector.Labels) == 0 {
			p.Selector.Labels = nil
		}
	}
	if len(r.Checks) == 0 {
		r.Checks = nil
	}
	if len(r.Params) == 0 {
		r.Params = nil
	}
	if d := r.Driver; d != nil {
		if d.Sim != nil {
			d.Sim.FailHosts = nilIfEmpty(d.Sim.FailHosts)
		}
		if d.Exec != nil {
			d.Exec.Command = nilIfEmpty(d.Exec.Command)
			if len(d.Exec.Env) == 0 {
				d.Exec.Env = nil
			}
		}
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Messages between services gain optional fields over time, so their
// decoders skip unknown fields: during a rolling upgrade an older executor
// must keep reading what a newer scheduler sends. An incompatible change
// gets a new type id instead.

// DecodeTolerant decodes a message from another service into v: like
// DecodeStrict (full paths, exact-case keys, repeated keys refused) but
// unknown keys are skipped, so a newer producer's optional field is no
// reason to drop its message.
func DecodeTolerant(b []byte, v any) error { return decodeTolerant(b, v) }

// DecodeDataTolerant is DecodeData for messages between services: unknown
// keys in the data are skipped.
func (e Envelope) DecodeDataTolerant(wantType string, v any) error {
	return e.decodeData(wantType, v, ignoreUnknown)
}

// DecodeHostAction reads a host action envelope and checks the fields an
// executor relies on.
func DecodeHostAction(b []byte) (HostAction, error) {
	env, err := DecodeEnvelope(b)
	if err != nil {
		return HostAction{}, err
	}
	var a HostAction
	if err := env.decodeData(TypeHostAction, &a, ignoreUnknown); err != nil {
		return HostAction{}, err
	}
	return a, a.Validate()
}

// DecodeHostResult reads a host result envelope and checks the fields the
// scheduler relies on.
func DecodeHostResult(b []byte) (HostResult, error) {
	env, err := DecodeEnvelope(b)
	if err != nil {
		return HostResult{}, err
	}
	var r HostResult
	if err := env.decodeData(TypeHostResult, &r, ignoreUnknown); err != nil {
		return HostResult{}, err
	}
	r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
	return r, r.Validate()
}

// DecodeEvent reads a rollout event envelope. Event types this version
// does not know still decode, so that watchers keep working when new
// events are added; ParseEventTypeID(env.Type) names the type.
func DecodeEvent(b []byte) (Envelope, Event, error) {
	env, err := DecodeEnvelope(b)
	if err != nil {
		return env, Event{}, err
	}
	if _, err := ParseEventTypeID(env.Type); err != nil {
		return env, Event{}, err
	}
	var ev Event
	if err := decodeJSON(env.Data, &ev, ignoreUnknown); err != nil {
		return env, Event{}, err
	}
	if ev.Until != nil {
		t := ev.Until.UTC()
		ev.Until = &t
	}
	return env, ev, nil
}

// ParseEventTypeID returns the event type named by an envelope type id
// such as "io.rollwave.rollout.started.v1".
func ParseEventTypeID(id string) (EventType, error) {
	rest, ok := strings.CutPrefix(id, EventTypePrefix)
	if !ok {
		return "", Invalid("type", "must start with %q, got %q", EventTypePrefix, clip(id))
	}
	name, ok := strings.CutSuffix(rest, ".v1")
	if !ok || !eventName(name) {
		return "", Invalid("type", "must be %q followed by an event name of lower-case letters, digits and '_' and \".v1\", got %q", EventTypePrefix, clip(id))
	}
	return EventType(name), nil
}

func eventName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// AsFieldErrors turns an error from decoding or validation into the list of
// problems a rejected event carries: FieldErrors as they are, a typed error
// as one entry, anything else as nil.
func AsFieldErrors(err error) FieldErrors {
	var fe FieldErrors
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &e):
		return FieldErrors{{Field: e.Field, Message: e.Message}}
	}
	return nil
}
