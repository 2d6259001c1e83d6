package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/planstore"
)

// storeTimeout bounds storing one large plan (100,000 hosts is about 10 MB).
const storeTimeout = 60 * time.Second

// byReference moves a plan whose encoding exceeds the inline limit out of
// its planned event into the plans bucket, before the event is published:
// a reader never sees a reference to a plan not yet stored. After a crash
// between the two, the request is delivered again, the id's claim lets this
// planner plan it again, and Put hands back the plan stored the first time,
// so the event (a duplicate the broker drops, or the first one) and the
// object agree.
func (s *Service) byReference(ctx context.Context, ev *contracts.Event) error {
	p := *ev.Plan
	if s.cfg.InlinePlanLimit >= 0 {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		if len(b) <= s.cfg.InlinePlanLimit {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	stored, ref, err := planstore.Put(ctx, s.plans, p)
	if err != nil {
		return err
	}
	ev.Plan, ev.PlanRef = nil, &ref
	s.log.Info("plan stored by reference", "rollout", ev.Rollout, "bytes", ref.Size, "hosts", stored.TotalHosts(), "sha256", ref.SHA256)
	return nil
}
