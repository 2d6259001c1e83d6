package scheduler

import (
	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

// undoAllowed refuses to roll back a completed rollout while another
// rollout is active in its environment: the rollback makes it hold the
// environment again, and one rollout at a time may.
func (b *batch) undoAllowed(st *staged, cmd rollout.Command) error {
	r := st.rec.Rollout
	if cmd.Verb != contracts.VerbRollback || r.State != contracts.StateCompleted {
		return nil
	}
	busy := func(id string, other rollout.Rollout) error {
		if id != r.ID() && other.Environment() == r.Environment() && other.Active() {
			return contracts.Errorf(contracts.CodeInvalidState, "cannot roll back %s: rollout %s is %s in %s", r.ID(), id, other.State, r.Environment())
		}
		return nil
	}
	// This batch's changes first, then what is committed.
	for id, st := range b.staged {
		if err := busy(id, st.rec.Rollout); err != nil {
			return err
		}
	}
	for id := range b.s.liveByEnv[r.Environment()] {
		if _, ok := b.staged[id]; !ok {
			if err := busy(id, b.s.live[id].r); err != nil {
				return err
			}
		}
	}
	return nil
}
