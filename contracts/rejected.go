package contracts

import "strconv"

// Placeholders for subject tokens a rejected request cannot supply. Both
// start with '_', which ValidToken never accepts, so they cannot collide
// with a real environment or rollout.
const (
	UnknownEnvToken      = "_unknown"
	invalidRolloutPrefix = "_invalid-"
)

// RejectedSubject returns the subject of the rejected event for a request
// and the rollout token that subject names. A request too malformed to name
// a valid environment or rollout id still gets its rejection published:
// an invalid environment becomes "_unknown" and an invalid rollout id
// "_invalid-<streamSeq>", the request's sequence in the REQUESTS stream, so
// that the event is unique per request and can be traced back to it.
func RejectedSubject(env, rollout string, streamSeq uint64) (subject, rolloutToken string) {
	if !ValidToken(env) {
		env = UnknownEnvToken
	}
	if !ValidToken(rollout) {
		rollout = invalidRolloutPrefix + strconv.FormatUint(streamSeq, 10)
	}
	return EventSubject(env, rollout, EventRejected), rollout
}
