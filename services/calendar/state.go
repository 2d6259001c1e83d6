package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

// State publication: every window, with its occurrences expanded over
// the state horizon, is a key of contracts.CalendarStateBucket. Schedulers
// watch the bucket and fall back to it when the calendar does not answer.
const (
	stateBehind  = 48 * time.Hour
	stateHorizon = 35 * 24 * time.Hour
	// stateRefresh rolls the horizon forward well before it runs out.
	stateRefresh = time.Hour
)

func (s *Service) openState(ctx context.Context) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{Bucket: contracts.CalendarStateBucket, History: 1, Replicas: s.cfg.stateReplicas(),
		Description: "calendar windows with their occurrences, watched by schedulers"}
	kv, err := s.deps.JS.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = s.deps.JS.KeyValue(ctx, contracts.CalendarStateBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", contracts.CalendarStateBucket, err)
	}
	return kv, nil
}

func (c Config) stateReplicas() int {
	if c.StateReplicas > 0 {
		return c.StateReplicas
	}
	return 1
}

func (s *Service) windowState(w contracts.Window) contracts.WindowState {
	now := s.deps.Clock.Now()
	through := now.Add(stateHorizon)
	occs := windows.Occurrences(w, now.Add(-stateBehind), through)
	if occs == nil {
		occs = []contracts.Occurrence{}
	}
	return contracts.WindowState{Window: w, Occurrences: occs, Through: through}
}

// publishWindow puts one window's state. A failure is logged: the next
// full publication repairs it.
func (s *Service) publishWindow(ctx context.Context, w contracts.Window) {
	b, err := json.Marshal(s.windowState(w))
	if err == nil {
		_, err = s.kv.Put(ctx, contracts.CalendarStateKey(w.ID), b)
	}
	if err != nil {
		s.log.Warn("publish window state; the next full publication repairs it", "window", w.ID, "err", err)
	}
}

func (s *Service) unpublishWindow(ctx context.Context, id string) {
	if err := s.kv.Delete(ctx, contracts.CalendarStateKey(id)); err != nil {
		s.log.Warn("delete window state; the next full publication repairs it", "window", id, "err", err)
	}
}

// publishAll puts every window, deletes keys of windows that are gone and
// then marks the bucket synced.
func (s *Service) publishAll(ctx context.Context) error {
	s.addMu.Lock()
	defer s.addMu.Unlock()
	ws, err := s.store.list(ctx, "", nil)
	if err != nil {
		return err
	}
	keep := map[string]bool{contracts.CalendarStateSyncedKey: true}
	for _, w := range ws {
		b, err := json.Marshal(s.windowState(w))
		if err != nil {
			return err
		}
		if _, err := s.kv.Put(ctx, contracts.CalendarStateKey(w.ID), b); err != nil {
			return fmt.Errorf("publish window %s: %w", w.ID, err)
		}
		keep[contracts.CalendarStateKey(w.ID)] = true
	}
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list state keys: %w", err)
	}
	for k := range keys.Keys() {
		// Only window keys are the calendar's: the line stop is written
		// by others (contracts.LineStopKey) and must outlive a resync.
		if strings.HasPrefix(k, contracts.CalendarStateKey("")) && !keep[k] {
			if err := s.kv.Delete(ctx, k); err != nil {
				return fmt.Errorf("delete state key %s: %w", k, err)
			}
		}
	}
	stamp, _ := s.deps.Clock.Now().UTC().MarshalText()
	if _, err := s.kv.Put(ctx, contracts.CalendarStateSyncedKey, stamp); err != nil {
		return fmt.Errorf("mark state synced: %w", err)
	}
	return nil
}

// refreshState republishes everything every stateRefresh, so the
// published horizon keeps ahead of the clock.
func (s *Service) refreshState(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.deps.Clock.After(stateRefresh):
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := s.publishAll(pctx); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh calendar state", "err", err)
		}
		cancel()
	}
}
