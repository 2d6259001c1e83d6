package chains

import (
	"fmt"

	"github.com/rollwave/rollwave/contracts"
)

// Effects is what one rollout's end does to its chain: the state updates,
// the next member to request, and the members to reject, with the reason.
type Effects struct {
	Updates []Update
	Request *contracts.DeployRequest
	Reject  []contracts.DeployRequest
	Reason  string
}

// Decide returns the effects of rollout ending in state (with reason) on
// its chain (in order). Only a member that is Requested reacts, so an
// event seen twice, or the rejections this package itself causes, change
// nothing. Completed requests the next member; any other end stops every
// member still waiting, each rejected with a reason naming the one that
// ended.
func Decide(chain []Member, rollout string, state contracts.State, reason string) Effects {
	at := -1
	for i, m := range chain {
		if m.Request.ID == rollout {
			at = i
		}
	}
	if at < 0 || chain[at].State != Requested || !state.Terminal() {
		return Effects{}
	}
	var e Effects
	if state == contracts.StateCompleted {
		e.Updates = append(e.Updates, Update{Rollout: rollout, State: Completed})
		if at+1 < len(chain) && chain[at+1].State == Waiting {
			next := chain[at+1].Request
			e.Request = &next
			e.Updates = append(e.Updates, Update{Rollout: next.ID, State: Requested})
		}
		return e
	}
	e.Updates = append(e.Updates, Update{Rollout: rollout, State: Ended})
	ended := chain[at].Request
	e.Reason = fmt.Sprintf("not rolled out: %s of %s@%s ended %s, which stops the applications after it", rollout, ended.App, ended.Version, state)
	if reason != "" {
		e.Reason += " (" + reason + ")"
	}
	for _, m := range chain[at+1:] {
		if m.State == Waiting {
			e.Reject = append(e.Reject, m.Request)
			e.Updates = append(e.Updates, Update{Rollout: m.Request.ID, State: Stopped})
		}
	}
	return e
}
