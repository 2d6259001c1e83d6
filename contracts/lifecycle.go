package contracts

import (
	"strings"
	"unicode/utf8"
)

// Lifecycles: the inventory orders environments (qa, staging, production),
// and a release may go to one only after it completed in the one before.
// Discovery answers each targets query with the order that applies to the
// queried application (Environment.Lifecycle); the planner refuses a
// request whose release has not completed in the environment before, with
// code CodeLifecycle on the "environment" reason, unless the request
// overrides the lifecycle with a reason.

// MaxOverrideReason bounds the reason of an override.
const MaxOverrideReason = 1024

// Override lets a request bypass a planner check, with the reason recorded
// in the plan and in the planned event. Only the lifecycle can be
// overridden.
type Override struct {
	// Lifecycle deploys even though the release has not completed in the
	// environment before this one.
	Lifecycle bool `json:"lifecycle,omitempty"`
	// Reason is why, for the audit trail. Required.
	Reason string `json:"reason"`
}

func (o *Override) validate(fe *FieldErrors, field string) {
	if o == nil {
		return
	}
	if !o.Lifecycle {
		fe.Add(field+".lifecycle", "must be true: the lifecycle is the only check an override can bypass")
	}
	switch r := strings.TrimSpace(o.Reason); {
	case r == "":
		fe.Add(field+".reason", "is required: an override is recorded with why it was needed")
	case len(o.Reason) > MaxOverrideReason:
		fe.Add(field+".reason", "must be at most %d bytes, got %d", MaxOverrideReason, len(o.Reason))
	case !utf8.ValidString(o.Reason) || strings.ContainsAny(o.Reason, "\x00\r\n"):
		fe.Add(field+".reason", "must be one line of text")
	}
}

// LifecycleOverride records, in a plan, that a request skipped the
// lifecycle: the environment the release had not completed in, and why.
type LifecycleOverride struct {
	// Missing is the environment before this one in which the release had
	// not completed.
	Missing string `json:"missing"`
	Reason  string `json:"reason"`
	// By is who asked (the request's requested_by).
	By string `json:"by,omitempty"`
}
