package contracts

import (
	"strings"
	"time"
)

// WindowKind is the kind of a calendar window.
type WindowKind string

const (
	// WindowFreeze forbids starting rollouts in an environment.
	WindowFreeze WindowKind = "freeze"
	// WindowReservation holds environments for one team, or for rollouts
	// carrying one label; other rollouts wait.
	WindowReservation WindowKind = "reservation"
	// WindowMaintenance is where rollouts may run: an environment with
	// maintenance windows admits rollouts only inside one of them.
	WindowMaintenance WindowKind = "maintenance"
	// WindowStop stops the line: no rollout starts in any environment,
	// whoever holds a reservation. It always applies to all environments.
	WindowStop WindowKind = "stop"
)

// AllEnvironments as an environment name makes a window apply to every
// environment.
const AllEnvironments = "*"

// Window is a calendar entry for one environment. Start and End are
// instants; TimeZone is the zone the window was written in, kept so that it
// can be shown as its author meant it.
type Window struct {
	ID          string     `json:"id"`
	Environment string     `json:"environment"`
	Kind        WindowKind `json:"kind"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	TimeZone    string     `json:"timezone,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	// Environments lists every environment the window applies to when it
	// is more than one; Environment is then empty. "*" means all.
	Environments []string `json:"environments,omitempty"`
	// RRule is an RFC 5545 recurrence rule ("FREQ=WEEKLY;BYDAY=FR"):
	// Start and End are the first occurrence, later ones keep its local
	// wall-clock times in TimeZone.
	RRule   string      `json:"rrule,omitempty"`
	ExDates []time.Time `json:"exdates,omitempty"`
	// Team or Label ("key=value") hold a reservation.
	Team  string `json:"team,omitempty"`
	Label string `json:"label,omitempty"`
	// ForceReason says why a reservation was added over conflicting ones.
	ForceReason string `json:"force_reason,omitempty"`
}

// WindowInput adds a window. Start and End are RFC 3339 instants, or local
// times ("2026-12-24T00:00") read in TimeZone (UTC when empty).
type WindowInput struct {
	Environment string     `json:"environment"`
	Kind        WindowKind `json:"kind,omitempty"`
	Start       string     `json:"start"`
	End         string     `json:"end"`
	TimeZone    string     `json:"timezone,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	// Environments, instead of Environment, for more than one ("*": all).
	Environments []string `json:"environments,omitempty"`
	RRule        string   `json:"rrule,omitempty"`
	// ExDates are occurrence starts to skip, in the forms of Start.
	ExDates []string `json:"exdates,omitempty"`
	Team    string   `json:"team,omitempty"`
	Label   string   `json:"label,omitempty"`
	// Force adds a reservation over conflicting ones; ForceReason is then
	// required and recorded.
	Force       bool   `json:"force,omitempty"`
	ForceReason string `json:"force_reason,omitempty"`
}

// WindowListQuery lists windows, optionally of one environment, optionally
// only those not yet over at the given instant.
type WindowListQuery struct {
	Environment string     `json:"environment,omitempty"`
	ActiveAt    *time.Time `json:"active_at,omitempty"`
	// From and To, both set, also expand the occurrences overlapping
	// [From, To) into WindowList.Occurrences.
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// WindowList answers a WindowListQuery.
type WindowList struct {
	Windows []Window `json:"windows"`
	// Occurrences, sorted by start, when the query gave From and To.
	Occurrences []Occurrence `json:"occurrences,omitempty"`
}

// WindowRemove removes a window by id.
type WindowRemove struct {
	ID string `json:"id"`
}

// AdmitQuery asks the calendar whether a rollout may start in an
// environment at an instant. The caller's clock decides "now".
type AdmitQuery struct {
	Environment string    `json:"environment"`
	At          time.Time `json:"at"`
	// Team and Labels of the rollout, matched against reservations.
	Team   string            `json:"team,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Admission answers an AdmitQuery. When not allowed, Until is when the
// blocking windows end and Window is the one that blocks.
type Admission struct {
	Allowed bool       `json:"allowed"`
	Until   *time.Time `json:"until,omitempty"`
	Window  *Window    `json:"window,omitempty"`
	// Occurrence is the occurrence of Window that decides, for recurring
	// windows.
	Occurrence *Occurrence `json:"occurrence,omitempty"`
	// Reason explains a refusal no single window causes (outside every
	// maintenance window).
	Reason string `json:"reason,omitempty"`
}

// Occurrence is one occurrence of a window.
type Occurrence struct {
	WindowID string    `json:"window_id"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// SlotQuery asks for the first span of Duration, starting at or after
// After, in which an environment is open for a rollout.
type SlotQuery struct {
	Environment string            `json:"environment"`
	After       time.Time         `json:"after"`
	Duration    Duration          `json:"duration"`
	Team        string            `json:"team,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Slot answers a SlotQuery. Found is false when no slot starts within the
// calendar's search horizon.
type Slot struct {
	Found bool      `json:"found"`
	Start time.Time `json:"start,omitempty"`
	End   time.Time `json:"end,omitempty"`
}

// CalendarImport imports an iCalendar file, all of it or nothing. Each
// event becomes a window of Kind (freeze when empty, or what a file
// Rollwave exported says) for Environments; TimeZone reads floating times
// and all-day dates when the file names no zone.
type CalendarImport struct {
	ICS          string     `json:"ics"`
	Environments []string   `json:"environments,omitempty"`
	Kind         WindowKind `json:"kind,omitempty"`
	Team         string     `json:"team,omitempty"`
	Label        string     `json:"label,omitempty"`
	TimeZone     string     `json:"timezone,omitempty"`
	CreatedBy    string     `json:"created_by,omitempty"`
	Force        bool       `json:"force,omitempty"`
	ForceReason  string     `json:"force_reason,omitempty"`
}

// CalendarExport asks for the windows as an iCalendar file, of one
// environment when set.
type CalendarExport struct {
	Environment string `json:"environment,omitempty"`
}

// CalendarFeed is an iCalendar file.
type CalendarFeed struct {
	ICS string `json:"ics"`
}

// CalendarStateBucket is the JetStream key-value bucket in which the
// calendar publishes every window with its occurrences expanded. The
// scheduler watches it, so known windows keep applying while the calendar
// cannot be asked.
const CalendarStateBucket = "CALENDAR_STATE"

// CalendarStateSyncedKey holds the instant of the calendar's last full
// publication; a bucket without it has never been filled and says
// nothing.
const CalendarStateSyncedKey = "synced"

// CalendarStateKey is the key of one window in CalendarStateBucket.
func CalendarStateKey(windowID string) string { return "window." + windowID }

// WindowState is a window as published in CalendarStateBucket:
// Occurrences are those overlapping the span up to Through; beyond it the
// calendar has said nothing yet.
type WindowState struct {
	Window      Window       `json:"window"`
	Occurrences []Occurrence `json:"occurrences"`
	Through     time.Time    `json:"through"`
}

// WindowEventType says whether a window occurrence began or ended.
type WindowEventType string

const (
	WindowOpened WindowEventType = "window_opened"
	WindowClosed WindowEventType = "window_closed"
)

// WindowEvent is announced on CalendarWindowSubject when an occurrence of
// a window begins or ends, by the calendar's clock.
type WindowEvent struct {
	Type       WindowEventType `json:"type"`
	Window     Window          `json:"window"`
	Occurrence Occurrence      `json:"occurrence"`
	At         time.Time       `json:"at"`
}

// HeldFor reports whether the reservation w is held for a rollout of team
// with labels: by its team, or by its "key=value" label.
func (w Window) HeldFor(team string, labels map[string]string) bool {
	if w.Team != "" {
		return w.Team == team
	}
	k, v, ok := strings.Cut(w.Label, "=")
	got, present := labels[k]
	return ok && present && got == v
}

// LineStopKey is the key of CalendarStateBucket that stops the line in
// every environment, written directly (by the gateway, for rollwave
// freeze --all) and not by the calendar, so that a stop can be set and
// lifted while the calendar service is down. Schedulers treat it as a
// stop window in force from Since until the key is deleted; the calendar
// leaves it alone when it republishes its windows.
const LineStopKey = "stop"

// LineStopWindowID is the window id under which the line stop is reported
// (in pause reasons and queued reasons).
const LineStopWindowID = "line-stop"

// LineStop is the value of LineStopKey.
type LineStop struct {
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by,omitempty"`
	Since     time.Time `json:"since"`
}

// LineStopInput stops the line (PUT /v1/stop).
type LineStopInput struct {
	Reason    string `json:"reason"`
	CreatedBy string `json:"created_by,omitempty"`
}

// Window returns the line stop as the stop window schedulers apply.
func (s LineStop) Window() Window {
	return Window{ID: LineStopWindowID, Kind: WindowStop, Environments: []string{AllEnvironments}, Start: s.Since,
		End: s.Since.AddDate(100, 0, 0), Reason: s.Reason, CreatedBy: s.CreatedBy}
}
