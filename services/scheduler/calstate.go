package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// calendarState is the scheduler's copy of the windows the calendar
// publishes in its KV bucket: the fallback when the calendar cannot be
// asked. It is known only once the calendar has marked the bucket synced.
type calendarState struct {
	mu      sync.RWMutex
	synced  bool
	windows map[string]contracts.WindowState
	// replayed is set once a watch has delivered every value the bucket
	// held when it began, so that the view is whole: holds are decided
	// only then, lest a rollout held by a window not yet delivered be
	// resumed. replaying collects the keys seen while it is not set.
	replayed  bool
	replaying map[string]bool
	// lineStop is the stop of the line written to contracts.LineStopKey
	// (rollwave freeze --all), nil when none.
	lineStop *contracts.LineStop
}

// states returns the windows with the line stop as one more stop window.
// The caller holds mu.
func (c *calendarState) states() []contracts.WindowState {
	out := slices.Collect(maps.Values(c.windows))
	if c.lineStop != nil {
		// In force from whenever it is seen: its since is the writer's
		// clock, which may run ahead of this scheduler's.
		w := c.lineStop.Window()
		out = append(out, contracts.WindowState{Window: w,
			Occurrences: []contracts.Occurrence{{WindowID: w.ID, End: w.End}}, Through: w.End})
	}
	return out
}

// lineStopAt returns the line stop as a window when one is in force at t:
// whenever the key is there, whatever its since says (see states).
func (c *calendarState) lineStopAt(t time.Time) (contracts.Window, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.lineStop == nil || t.After(c.lineStop.Window().End) {
		return contracts.Window{}, false
	}
	return c.lineStop.Window(), true
}

// ready returns the published windows once the calendar has filled the
// bucket and the watch has delivered all of it.
func (c *calendarState) ready() ([]contracts.WindowState, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced || !c.replayed {
		return nil, false
	}
	return c.states(), true
}

// rewatch starts a new replay.
func (c *calendarState) rewatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replayed = false
	c.replaying = map[string]bool{}
}

// replayDone ends the replay: windows the new watch did not deliver were
// deleted while no watch ran.
func (c *calendarState) replayDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.windows {
		if !c.replaying[contracts.CalendarStateKey(id)] {
			delete(c.windows, id)
		}
	}
	if !c.replaying[contracts.CalendarStateSyncedKey] {
		c.synced = false
	}
	if !c.replaying[contracts.LineStopKey] {
		c.lineStop = nil
	}
	c.replayed = true
	c.replaying = nil
}

// snapshot returns the published windows, and false when the calendar has
// never filled the bucket.
func (c *calendarState) snapshot() ([]contracts.WindowState, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced {
		return nil, false
	}
	return c.states(), true
}

func (c *calendarState) apply(e jetstream.KeyValueEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := e.Key()
	if c.replaying != nil {
		c.replaying[key] = true
	}
	if key == contracts.CalendarStateSyncedKey {
		c.synced = e.Operation() == jetstream.KeyValuePut
		return nil
	}
	if key == contracts.LineStopKey {
		c.lineStop = nil
		if e.Operation() != jetstream.KeyValuePut {
			return nil
		}
		var ls contracts.LineStop
		if err := json.Unmarshal(e.Value(), &ls); err != nil {
			// Unreadable, it still says the line is stopped: fail closed.
			ls = contracts.LineStop{Reason: "line stopped (unreadable stop entry)", Since: e.Created()}
			c.lineStop = &ls
			return err
		}
		c.lineStop = &ls
		return nil
	}
	id, ok := strings.CutPrefix(key, contracts.CalendarStateKey(""))
	if !ok {
		return nil
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(c.windows, id)
		return nil
	}
	// Messages between services decode tolerantly.
	var st contracts.WindowState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		delete(c.windows, id)
		return err
	}
	c.windows[id] = st
	return nil
}

// calendarChanged tells the loop that the calendar's state changed, so
// that a stop or freeze reaches running rollouts at once.
func (s *Service) calendarChanged() {
	select {
	case s.calChanged <- struct{}{}:
	default: // one is pending; the loop reads the newest state
	}
}

// watchCalendar follows the calendar's state bucket until the scheduler
// stops, opening it again after a failure.
func (s *Service) watchCalendar() {
	defer s.wg.Done()
	for s.runCtx.Err() == nil {
		err := s.followCalendar(s.runCtx)
		if s.runCtx.Err() != nil {
			return
		}
		s.log.Warn("watch calendar state; retrying", "err", err)
		select {
		case <-s.runCtx.Done():
			return
		case <-s.deps.Clock.After(time.Second):
		}
	}
}

func (s *Service) followCalendar(ctx context.Context) error {
	// The scheduler may start before the calendar: it creates the bucket
	// as the calendar does, and the bucket stays unsynced until the
	// calendar fills it.
	cfg := jetstream.KeyValueConfig{Bucket: contracts.CalendarStateBucket, History: 1, Replicas: max(1, s.cfg.StreamReplicas),
		Description: "calendar windows with their occurrences, watched by schedulers"}
	kv, err := s.deps.JS.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = s.deps.JS.KeyValue(ctx, contracts.CalendarStateBucket)
	}
	if err != nil {
		return err
	}
	s.calState.rewatch()
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("calendar state watch ended")
			}
			if e == nil { // initial values delivered
				s.calState.replayDone()
				s.calendarChanged()
				continue
			}
			if err := s.calState.apply(e); err != nil {
				s.log.Warn("unreadable calendar window state dropped", "key", e.Key(), "err", err)
			}
			s.calendarChanged()
		}
	}
}
