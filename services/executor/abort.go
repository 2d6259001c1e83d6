package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// Aborts. The scheduler emits an aborted event when a rollout is aborted.
// A live executor hears it and cancels that rollout's actions in flight
// (killing their process groups); an action delivered later looks the
// event up in the events stream first and is reported cancelled without
// running, so nothing of an aborted rollout runs after a restart either.

// watchAborts subscribes to aborted events of every rollout.
func (s *Service) watchAborts() (*nats.Subscription, error) {
	sub, err := s.deps.NC.Subscribe(contracts.EventFilter("", "", contracts.EventAborted), func(m *nats.Msg) {
		_, rollout, _, err := contracts.ParseEventSubject(m.Subject)
		if err != nil {
			return
		}
		if n := s.running.cancelRollout(rollout, errAborted); n > 0 {
			s.log.Warn("rollout aborted; cancelled its actions in flight", "rollout", rollout, "actions", n)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to aborted events: %w", err)
	}
	return sub, nil
}

// aborted reports whether the events stream holds an aborted event for the
// action's rollout.
func (s *Service) aborted(ctx context.Context, a contracts.HostAction) (bool, error) {
	_, err := withOp(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return s.events.GetLastMsgForSubject(ctx, contracts.EventSubject(a.Environment, a.Rollout, contracts.EventAborted))
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up aborted event: %w", err)
	}
	return true, nil
}
