package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/planstore"
	"github.com/rollwave/rollwave/services/scheduler/internal/inbound"
)

// planFetchTimeout bounds reading one plan stored by reference (about
// 10 MB for 100,000 hosts). The loop waits for it: a planned event is
// applied in order with everything else.
const planFetchTimeout = 30 * time.Second

// errPlanRefused marks a planned event whose stored plan can never be run:
// missing, not matching its digest, or not a valid plan for the event.
var errPlanRefused = errors.New("stored plan unusable")

// resolvePlan fills ev.Plan from the plans bucket when the event carries a
// reference. A plan that cannot be used is errPlanRefused (the event is
// poison and is refused, logged and counted, like any invalid planned
// event); any other error is transient and fails the batch, which is then
// replayed from the stored cursor at the next tick.
func (s *Service) resolvePlan(ev *contracts.Event) error {
	if ev.PlanRef == nil {
		return nil
	}
	if s.plans == nil {
		return fmt.Errorf("plan of %s is stored by reference, and the plans bucket is not open", ev.Rollout)
	}
	ctx, cancel := context.WithTimeout(s.workCtx, planFetchTimeout)
	defer cancel()
	st, err := planstore.Get(ctx, s.plans, ev.Rollout, ev.PlanRef)
	if err != nil {
		if planstore.Permanent(err) {
			return fmt.Errorf("%w: %w", errPlanRefused, err)
		}
		return err
	}
	if err := inbound.Plan(*ev, st.Plan); err != nil {
		return fmt.Errorf("%w: stored plan: %w", errPlanRefused, err)
	}
	ev.Plan = &st.Plan
	return nil
}
