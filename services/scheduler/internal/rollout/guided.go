package rollout

import "github.com/rollwave/rollwave/contracts"

// maxOffer bounds the failed hosts a guided-failure offer lists, so that
// the paused event stays small when a percentage budget lets many fail;
// the rest are in the rollout's hosts, and every choice but exclude acts
// on all of them at once.
const maxOffer = 100

// guidedPause reports whether guided failure holds the rollout paused.
func (s *stepper) guidedPause() bool {
	return s.r.Guided && s.r.State == paused
}

// Offer lists, for each failed host (up to maxOffer, in plan order), what
// an operator can do: retry the failed hosts, skip this host (exclude; the
// rollout runs on once no failed host is left), roll back, or abort. Each
// choice carries the CLI command that sends it.
func (r Rollout) Offer() []contracts.FailedHostOffer {
	var out []contracts.FailedHostOffer
	id := r.ID()
	for _, h := range r.Hosts {
		if h.Status != HostFailed {
			continue
		}
		if len(out) == maxOffer {
			break
		}
		out = append(out, contracts.FailedHostOffer{Host: h.Name, Error: h.Error, Choices: []contracts.GuidedChoice{
			{Verb: contracts.VerbRetry, Command: "rollwave retry " + id + " --host " + h.Name},
			{Verb: contracts.VerbExclude, Command: "rollwave exclude " + id + " " + h.Name},
			{Verb: contracts.VerbRollback, Command: "rollwave rollback " + id},
			{Verb: contracts.VerbAbort, Command: "rollwave abort " + id},
		}})
	}
	return out
}

// excludedResult records the result of an excluded host's action that was
// in flight when it was excluded: the outcome is in the event and in the
// host's row (so a later rollback knows whether it installed), but no
// count changes and nothing advances.
func (s *stepper) excludedResult(i int, res contracts.HostResult) {
	h := s.r.Hosts[i]
	h.FinishedAt = s.now
	h.Error = res.Error
	h.Installed = res.Status == contracts.ResultSucceeded || res.Installed
	h.Recorded = res.Attempt
	s.setHost(i, h)
	typ := contracts.EventHostSucceeded
	if res.Status != contracts.ResultSucceeded {
		typ = contracts.EventHostFailed
	}
	var took contracts.Duration
	if d := res.FinishedAt.Sub(res.StartedAt); !res.StartedAt.IsZero() && d > 0 {
		took = contracts.Duration(d)
	}
	s.emit(typ, contracts.Event{
		Phase: s.phaseRef(h.Phase), Batch: h.Batch, Reason: "host is excluded",
		Host: &contracts.HostOutcome{Name: h.Name, Attempt: h.Attempt, Status: res.Status, Error: res.Error,
			Duration: took, Checks: res.Checks, Executor: res.Executor},
	})
}
