package contracts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Request ids are single-use beyond the broker's duplicate window: the
// planner records each id with the digest of its request. The same id with
// the same request is the same rollout; the same id with another request is
// a conflict, refused without publishing anything.

// RequestDigest is the digest of a decoded, normalized request: equal
// requests have equal digests whatever their JSON spelling or envelope.
func RequestDigest(r DeployRequest) string {
	r.normalize()
	b, err := json.Marshal(r)
	if err != nil {
		// Every field of a request encodes; a failure is a bug, and an
		// empty digest never equals a real one.
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ClaimReply answers a claim of a request id on APIPlannerClaim (sent with
// the DeployRequest). Existing is true when the id already has its verdict
// for this same request: the caller publishes nothing and points at
// Rollout. A different request under a used id is an error with
// CodeConflict naming "id".
type ClaimReply struct {
	Rollout  string `json:"rollout"`
	Existing bool   `json:"existing,omitempty"`
	// Rollouts are, for a request naming several applications, the
	// rollouts it becomes, in the order they roll out.
	Rollouts []string `json:"rollouts,omitempty"`
}

// ConflictingID is the error for a request id already used by another request.
func ConflictingID(id string) *Error {
	return &Error{Code: CodeConflict, Field: "id",
		Message: fmt.Sprintf("request id %q was already used for a different request; a request id names one request for good: pick a new id", clip(id))}
}
