package contracts

// Promote says how a canary goes on after its analysis passed.
type Promote string

const (
	// PromoteAuto goes on to the rest of the hosts at once.
	PromoteAuto Promote = "auto"
	// PromoteManual waits at the gate step "promote" for an approval.
	PromoteManual Promote = "manual"
)

// CanarySpec is strategy canary: the planner expands it into the steps
// canary (Hosts of the app's hosts, the first by name), analysis (of the
// canary hosts), promote (a gate step, when Promote is manual) and rest
// (every other host, in batches of Batch). on_failure defaults to
// rollback.
type CanarySpec struct {
	Hosts    Size         `json:"hosts"`
	Analysis AnalysisSpec `json:"analysis"`
	Promote  Promote      `json:"promote,omitempty"`
	Batch    BatchSpec    `json:"batch,omitzero"`
}

// Step names of an expanded canary.
const (
	CanaryStep   = "canary"
	AnalysisStep = "analysis"
	PromoteStep  = "promote"
	RestStep     = "rest"
)

// validateCanary checks the strategy canary part of a request; it reports
// whether the request is a canary (whose phases the planner makes).
func (r DeployRequest) validateCanary(fe *FieldErrors) bool {
	if r.Strategy != StrategyCanary {
		if r.Canary != nil {
			fe.Add("canary", "is only for strategy %q", StrategyCanary)
		}
		return false
	}
	c := r.Canary
	if c == nil {
		fe.Add("canary", "is required with strategy %q: {hosts, analysis, promote}", StrategyCanary)
		return true
	}
	if len(r.Phases) > 0 {
		fe.Add("phases", "must be empty with strategy %q: the steps come from canary", StrategyCanary)
	}
	if msg := c.Hosts.problem(false); msg != "" {
		fe.Add("canary.hosts", "%s", msg)
	}
	c.Analysis.validate(fe, "canary.analysis", r.Checks)
	switch c.Promote {
	case "", PromoteAuto, PromoteManual:
	default:
		fe.Add("canary.promote", "must be %q or %q, got %q", PromoteAuto, PromoteManual, clip(string(c.Promote)))
	}
	c.Batch.validate(fe, "canary.batch")
	return true
}
