package contracts

import (
	"fmt"
	"strings"
)

// BlueGreenSpec is strategy blue-green: the app's hosts are two sets by
// the inventory label Label (default "color", e.g. blue and green). The
// planner expands it into the steps deploy (the idle set: the one not
// running the live version, in batches of Batch, with Checks), switch (a
// traffic step toward the idle set) and keep (a wait of Keep, during
// which a rollback switches traffic back without redeploying).
// on_failure defaults to rollback.
type BlueGreenSpec struct {
	Label string `json:"label,omitempty"`
	// Live, when set, names the set that takes traffic now (a label
	// value), for when the versions the sets run do not tell.
	Live    string      `json:"live,omitempty"`
	Keep    Duration    `json:"keep,omitempty"`
	Checks  []string    `json:"checks,omitempty"`
	Batch   BatchSpec   `json:"batch,omitzero"`
	Traffic TrafficSpec `json:"traffic"`
}

// DefaultColorLabel is the label that splits blue-green hosts by default.
const DefaultColorLabel = "color"

// TrafficSpec says how traffic is switched: exactly one of an operator's
// procedure (procedures.<name>.traffic of the environment's inventory) or
// an HTTP call.
type TrafficSpec struct {
	Procedure string       `json:"procedure,omitempty"`
	HTTP      *HTTPTraffic `json:"http,omitempty"`
}

// HTTPTraffic switches traffic with one HTTP call. URL is a template over
// the traffic action ({{.Target}} is the set traffic goes to); an answer
// with another status than Status (default 200) fails the switch.
type HTTPTraffic struct {
	Method  string   `json:"method,omitempty"`
	URL     string   `json:"url"`
	Status  int      `json:"status,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
}

// PlannedTraffic is a traffic step resolved by the planner: traffic goes
// to Target (a label value) from From ("" when no set was live), by Exec
// (argv templates, never a shell) or HTTP.
type PlannedTraffic struct {
	Target string       `json:"target"`
	From   string       `json:"from,omitempty"`
	Exec   *ExecDriver  `json:"exec,omitempty"`
	HTTP   *HTTPTraffic `json:"http,omitempty"`
}

// Step names of an expanded blue-green rollout.
const (
	DeployStep = "deploy"
	SwitchStep = "switch"
	KeepStep   = "keep"
)

// TrafficHost stands where a traffic action's host name goes: no host
// name can be it ('_' is not allowed in one), so no action id of a host
// can be a traffic action's.
const TrafficHost = "_traffic"

// TrafficActionID is the id of attempt n of a traffic step's action:
// <rollout>/<step>/_traffic/attempt-<n> (the switch back is the step
// RollbackStepID's).
func TrafficActionID(rollout, step string, attempt int) string {
	return StepActionID(rollout, step, TrafficHost, attempt)
}

var trafficMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (t TrafficSpec) validate(fe *FieldErrors, field string) {
	switch {
	case t.Procedure == "" && t.HTTP == nil:
		fe.Add(field, "must set exactly one of: procedure, http")
	case t.Procedure != "" && t.HTTP != nil:
		fe.Add(field, "must set exactly one of: procedure, http; both are set")
	case t.Procedure != "":
		token(fe, field+".procedure", t.Procedure)
	default:
		t.HTTP.validate(fe, field+".http")
	}
}

func (h HTTPTraffic) validate(fe *FieldErrors, field string) {
	if h.Method != "" && !containsString(trafficMethods, h.Method) {
		fe.Add(field+".method", "must be one of %s, got %q", strings.Join(trafficMethods, ", "), clip(h.Method))
	}
	switch {
	case h.URL == "":
		fe.Add(field+".url", "is required")
	default:
		if msg := templateProblem(h.URL); msg != "" {
			fe.Add(field+".url", "%s", msg)
		} else if msg := urlSchemeProblem(h.URL); msg != "" {
			fe.Add(field+".url", "%s", msg)
		}
	}
	if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
		fe.Add(field+".status", "must be an HTTP status between 100 and 599, got %d", h.Status)
	}
	nonNegative(fe, field+".timeout", h.Timeout)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validateBlueGreen checks the strategy blue-green part of a request; it
// reports whether the request is one (whose phases the planner makes).
func (r DeployRequest) validateBlueGreen(fe *FieldErrors) bool {
	if r.Strategy != StrategyBlueGreen {
		if r.BlueGreen != nil {
			fe.Add("blue_green", "is only for strategy %q", StrategyBlueGreen)
		}
		return false
	}
	b := r.BlueGreen
	if b == nil {
		fe.Add("blue_green", "is required with strategy %q: {label, traffic, keep}", StrategyBlueGreen)
		return true
	}
	if len(r.Phases) > 0 {
		fe.Add("phases", "must be empty with strategy %q: the steps come from blue_green", StrategyBlueGreen)
	}
	if b.Label != "" && !ValidToken(b.Label) {
		fe.Add("blue_green.label", "a label name %s, got %q", tokenRule, clip(b.Label))
	}
	if b.Live != "" && !ValidToken(b.Live) {
		fe.Add("blue_green.live", "a label value %s, got %q", tokenRule, clip(b.Live))
	}
	nonNegative(fe, "blue_green.keep", b.Keep)
	for i, c := range b.Checks {
		if _, ok := r.Checks[c]; !ok {
			fe.Add(IndexPath("blue_green.checks", i), "%q is not defined under checks", clip(c))
		}
	}
	b.Batch.validate(fe, "blue_green.batch")
	b.Traffic.validate(fe, "blue_green.traffic")
	return true
}

// Validate checks a traffic step's switch, as an executor gets it.
func (t PlannedTraffic) Validate(field string) FieldErrors {
	var fe FieldErrors
	required(&fe, field+".target", t.Target)
	switch {
	case (t.Exec == nil) == (t.HTTP == nil):
		fe.Add(field, "must set exactly one of: exec, http")
	case t.HTTP != nil:
		t.HTTP.validate(&fe, field+".http")
	default:
		fe = append(fe, DriverSpec{Exec: t.Exec}.Validate(field)...)
	}
	return fe
}

// String names a switch for messages.
func (t PlannedTraffic) String() string {
	if t.From == "" {
		return "traffic to " + t.Target
	}
	return fmt.Sprintf("traffic from %s to %s", t.From, t.Target)
}
