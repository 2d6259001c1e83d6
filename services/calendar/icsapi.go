package calendar

import (
	"context"
	"errors"
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/calendar/internal/ics"
	"github.com/rollwave/rollwave/services/calendar/internal/windows"
)

// Import adds every event of an iCalendar file as a window, or none: a
// problem anywhere (a line that does not parse, an event that is not a
// valid window, a reservation conflict) refuses the whole file, naming
// the line.
func (s *Service) Import(ctx context.Context, in contracts.CalendarImport) (contracts.WindowList, error) {
	if in.ICS == "" {
		return contracts.WindowList{}, contracts.Invalid("ics", "is required: the content of an iCalendar file")
	}
	evs, err := ics.Parse([]byte(in.ICS), ics.Options{Environments: in.Environments, Kind: in.Kind, Team: in.Team,
		Label: in.Label, TimeZone: in.TimeZone, CreatedBy: in.CreatedBy})
	if err != nil {
		return contracts.WindowList{}, contracts.Invalid("ics", "%s", err)
	}
	if len(evs) == 0 {
		return contracts.WindowList{}, contracts.Invalid("ics", "the file has no events to import")
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	existing, err := s.store.list(ctx, "", nil)
	if err != nil {
		return contracts.WindowList{}, err
	}
	var added []contracts.Window
	for _, e := range evs {
		e.Input.Force, e.Input.ForceReason = in.Force, in.ForceReason
		w, err := windows.Parse(e.Input, s.newID)
		if err != nil {
			return contracts.WindowList{}, contracts.Invalid("ics", "line %d (event %q): %s", e.Line, clip(e.UID), err)
		}
		if c := windows.Conflicts(append(existing, added...), w, w.Start); len(c) > 0 && !in.Force {
			var ce *contracts.Error
			errors.As(conflictError(c), &ce)
			return contracts.WindowList{}, &contracts.Error{Code: contracts.CodeConflict, Field: "ics",
				Message: fmt.Sprintf("line %d (event %q): %s", e.Line, clip(e.UID), ce.Message)}
		}
		added = append(added, w)
	}
	if err := s.store.insert(ctx, added...); err != nil {
		return contracts.WindowList{}, err
	}
	for _, w := range added {
		s.publishWindow(ctx, w)
	}
	s.notifyChanged()
	if err := s.refreshWindowCounts(ctx); err != nil {
		s.log.Warn("refresh window metrics", "err", err)
	}
	s.log.Info("calendar imported", "windows", len(added), "created_by", in.CreatedBy, "force_reason", in.ForceReason)
	return contracts.WindowList{Windows: added}, nil
}

// Export returns the windows, of one environment when asked, as an
// iCalendar feed: recurring windows stay recurring.
func (s *Service) Export(ctx context.Context, q contracts.CalendarExport) (contracts.CalendarFeed, error) {
	name := "Rollwave"
	if q.Environment != "" {
		if err := contracts.CheckToken("environment", q.Environment); err != nil {
			return contracts.CalendarFeed{}, err
		}
		name += " " + q.Environment
	}
	ws, err := s.store.list(ctx, q.Environment, nil)
	if err != nil {
		return contracts.CalendarFeed{}, err
	}
	return contracts.CalendarFeed{ICS: ics.Export(ws, name)}, nil
}
