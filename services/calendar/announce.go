package calendar

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

// changed wakes the announcer after windows were added or removed.
func (s *Service) notifyChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

type boundary struct {
	at  time.Time
	typ contracts.WindowEventType
	w   contracts.Window
	o   contracts.Occurrence
}

// boundaries returns the occurrence starts and ends in (after, to], in
// order.
func (s *Service) boundaries(ctx context.Context, after, to time.Time) ([]boundary, error) {
	ws, err := s.store.list(ctx, "", &after)
	if err != nil {
		return nil, err
	}
	var out []boundary
	for _, w := range ws {
		for _, o := range windows.Occurrences(w, after.Add(-stateBehind), to.Add(time.Nanosecond)) {
			if o.Start.After(after) && !o.Start.After(to) {
				out = append(out, boundary{o.Start, contracts.WindowOpened, w, o})
			}
			if o.End.After(after) && !o.End.After(to) {
				out = append(out, boundary{o.End, contracts.WindowClosed, w, o})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b boundary) int { return a.at.Compare(b.at) })
	return out, nil
}

// announce publishes window_opened and window_closed as the calendar's
// clock passes occurrence boundaries. Announcements are notifications on
// core NATS: admission never depends on them (it asks, or reads the state
// bucket).
func (s *Service) announce(ctx context.Context) {
	defer s.wg.Done()
	last := s.deps.Clock.Now()
	for {
		wait := stateRefresh
		if bs, err := s.boundaries(ctx, last, last.Add(stateRefresh)); err != nil {
			s.log.Warn("window announcements", "err", err)
		} else if len(bs) > 0 {
			wait = bs[0].at.Sub(s.deps.Clock.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-s.changed:
			continue
		case <-s.deps.Clock.After(wait):
		}
		now := s.deps.Clock.Now()
		bs, err := s.boundaries(ctx, last, now)
		if err != nil {
			s.log.Warn("window announcements", "err", err)
			continue
		}
		for _, b := range bs {
			data, err := json.Marshal(contracts.WindowEvent{Type: b.typ, Window: b.w, Occurrence: b.o, At: b.at})
			if err == nil {
				err = s.deps.NC.Publish(contracts.CalendarWindowSubject(b.typ, b.w.ID), data)
			}
			if err != nil {
				s.log.Warn("announce window", "window", b.w.ID, "type", b.typ, "err", err)
			}
		}
		last = now
	}
}
