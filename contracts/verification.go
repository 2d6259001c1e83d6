package contracts

import "unicode/utf8"

// The verification contract: a nats check sends a VerificationRequest on
// its subject with NATS request/reply and reads one VerificationReply from
// the reply subject. Both are plain JSON (no envelope), so a verifier in any
// language needs only a NATS client and a JSON parser. The schemas are
// schemas/verification-request.json and verification-reply.json; the
// contract is described in docs/VERIFICATION.md.

// Type ids of the verification contract; the request carries its own in
// its type field, so a verifier can refuse a version it does not know.
const (
	TypeVerificationRequest = "io.rollwave.verification.request.v1"
	TypeVerificationReply   = "io.rollwave.verification.reply.v1"
)

// VerificationSubjectPrefix is the one part of Rollwave's subject space that
// nats checks may use; any subject outside rollwave. is open to them too.
const VerificationSubjectPrefix = "rollwave.verify."

// VerificationRequest asks a verification service about one host of one
// rollout. Verifiers must ignore fields they do not know: later versions
// of v1 may add some.
type VerificationRequest struct {
	Type string `json:"type"`
	// Check is the name the rollout gives the check.
	Check           string            `json:"check"`
	Rollout         string            `json:"rollout"`
	Environment     string            `json:"environment"`
	App             string            `json:"app"`
	Version         string            `json:"version"`
	PreviousVersion string            `json:"previous_version,omitempty"`
	Host            VerificationHost  `json:"host"`
	ActionID        string            `json:"action_id,omitempty"`
	Attempt         int               `json:"attempt,omitempty"`
	Params          map[string]string `json:"params,omitempty"`
	// Try counts the tries of this check within the action, from 1.
	Try int `json:"try"`
}

// VerificationHost is the host a verification request is about.
type VerificationHost struct {
	Name    string            `json:"name"`
	Address string            `json:"address,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// VerificationStatus is a verifier's verdict.
type VerificationStatus string

const (
	VerificationPass         VerificationStatus = "pass"
	VerificationFail         VerificationStatus = "fail"
	VerificationInconclusive VerificationStatus = "inconclusive"
)

// Result maps a verdict to a check status.
func (s VerificationStatus) Result() ResultStatus {
	switch s {
	case VerificationPass:
		return ResultSucceeded
	case VerificationInconclusive:
		return ResultInconclusive
	}
	return ResultFailed
}

// VerificationReply is a verifier's answer.
type VerificationReply struct {
	Status VerificationStatus `json:"status"`
	// Reason says why, in words an operator reads in the rollout's events.
	Reason string `json:"reason,omitempty"`
}

// maxReason bounds the reason kept from a verifier.
const maxReason = 1024

// DecodeVerificationReply reads a verifier's answer strictly: it comes from
// a program Rollwave does not control, so an unknown field, a wrong type or
// a status other than pass, fail or inconclusive is an error naming the
// field.
func DecodeVerificationReply(b []byte) (VerificationReply, error) {
	var r VerificationReply
	if err := DecodeStrict(b, &r); err != nil {
		return VerificationReply{}, err
	}
	switch r.Status {
	case VerificationPass, VerificationFail, VerificationInconclusive:
	case "":
		return VerificationReply{}, Invalid("status", "is required: %q, %q or %q", VerificationPass, VerificationFail, VerificationInconclusive)
	default:
		return VerificationReply{}, Invalid("status", "must be %q, %q or %q, got %q", VerificationPass, VerificationFail, VerificationInconclusive, clip(string(r.Status)))
	}
	if len(r.Reason) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(r.Reason[cut]) {
			cut--
		}
		r.Reason = r.Reason[:cut] + "..."
	}
	return r, nil
}
