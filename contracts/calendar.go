package contracts

import "time"

// WindowKind is the kind of a calendar window.
type WindowKind string

const (
	// WindowFreeze forbids starting rollouts in an environment.
	WindowFreeze WindowKind = "freeze"
)

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
}

// WindowListQuery lists windows, optionally of one environment, optionally
// only those not yet over at the given instant.
type WindowListQuery struct {
	Environment string     `json:"environment,omitempty"`
	ActiveAt    *time.Time `json:"active_at,omitempty"`
}

// WindowList answers a WindowListQuery.
type WindowList struct {
	Windows []Window `json:"windows"`
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
}

// Admission answers an AdmitQuery. When not allowed, Until is when the
// blocking windows end and Window is the one that blocks.
type Admission struct {
	Allowed bool       `json:"allowed"`
	Until   *time.Time `json:"until,omitempty"`
	Window  *Window    `json:"window,omitempty"`
}
