package contracts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents specification version the envelope follows.
const SpecVersion = "1.0"

// Type ids name a message kind and its schema version. A consumer switches on
// the type id; a new incompatible shape gets a new id (".v2") and the old one
// keeps decoding.
const (
	TypeDeployRequest = "io.rollwave.deploy.request.v1"
	TypeHostAction    = "io.rollwave.host.action.v1"
	TypeHostResult    = "io.rollwave.host.result.v1"
	TypeControl       = "io.rollwave.control.command.v1"
)

// EventTypePrefix prefixes every rollout event type id; the event name and
// the schema version follow, as in "io.rollwave.rollout.started.v1".
const EventTypePrefix = "io.rollwave.rollout."

// EventTypeID returns the envelope type id of a rollout event.
func EventTypeID(t EventType) string { return EventTypePrefix + string(t) + ".v1" }

// Envelope is the versioned JSON wrapper around every message Rollwave
// publishes. Attribute names follow CloudEvents 1.0 (structured JSON mode).
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// NewEnvelope wraps data in an envelope. id must be unique per message and
// stable across retries of the same logical message.
func NewEnvelope(typ, id, source, subject string, at time.Time, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s data: %w", typ, err)
	}
	return Envelope{
		SpecVersion:     SpecVersion,
		Type:            typ,
		ID:              id,
		Source:          source,
		Subject:         subject,
		Time:            at.UTC(),
		DataContentType: "application/json",
		Data:            raw,
	}, nil
}

// Marshal encodes a new envelope around data in one step.
func Marshal(typ, id, source, subject string, at time.Time, data any) ([]byte, error) {
	env, err := NewEnvelope(typ, id, source, subject, at, data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// DecodeEnvelope parses and checks the envelope attributes of a message. It
// does not look at the data; see Envelope.DecodeData. Extension attributes
// (lower-case letters and digits, as CloudEvents names them) are ignored;
// time is returned in UTC.
func DecodeEnvelope(b []byte) (Envelope, error) {
	var env Envelope
	if err := decodeJSON(b, &env, extensionAttr); err != nil {
		return Envelope{}, err
	}
	env.Time = env.Time.UTC()
	if _, err := env.Time.MarshalJSON(); err != nil {
		// It would not encode again when the message is passed on.
		return env, Invalid("time", "must be between the years 0 and 9999 in UTC")
	}
	switch {
	case env.SpecVersion != SpecVersion:
		return env, Invalid("specversion", "must be %q, got %q", SpecVersion, clip(env.SpecVersion))
	case env.Type == "":
		return env, Invalid("type", "is required")
	case env.ID == "":
		return env, Invalid("id", "is required")
	case env.Source == "":
		return env, Invalid("source", "is required")
	case !jsonContentType(env.DataContentType):
		return env, Invalid("datacontenttype", "must be \"application/json\", got %q", clip(env.DataContentType))
	case len(env.Data) == 0 || string(env.Data) == "null":
		return env, Invalid("data", "is required")
	}
	return env, nil
}

// extensionAttr accepts the attributes Envelope lacks when they are named as
// CloudEvents extensions are.
func extensionAttr(path, name string) error {
	switch {
	case path != "":
		return nil
	case name == "data_base64":
		return Invalid(name, "binary data is not supported: send JSON in data")
	case !extensionName(name):
		return Invalid(KeyPath("", name), "is not an envelope attribute; extension attributes are named with lower-case letters and digits only")
	}
	return nil
}

func extensionName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// jsonContentType accepts no content type (JSON is implied) or a JSON one,
// with or without parameters.
func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// DecodeData decodes the envelope's data into v after checking the type id.
// Unknown fields are rejected so that a typo in a request is reported rather
// than silently ignored.
func (e Envelope) DecodeData(wantType string, v any) error {
	return e.decodeData(wantType, v, rejectUnknown)
}

func (e Envelope) decodeData(wantType string, v any, unknown unknownKey) error {
	if e.Type != wantType {
		return Invalid("type", "must be %q, got %q", wantType, clip(e.Type))
	}
	return decodeJSON(e.Data, v, unknown)
}
