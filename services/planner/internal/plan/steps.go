package plan

import (
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// plannedStep lays out one entry of the request's phases as a plan step:
// a phase with its hosts in batches, or a wait or gate step, which has no
// hosts. The step id is derived from the name alone, so it never depends
// on where the step stands.
func plannedStep(spec contracts.PhaseSpec, hosts []string) contracts.PlannedPhase {
	step := contracts.PlannedPhase{ID: contracts.StepID(spec.Name), Name: spec.Name, Kind: spec.StepKind()}
	if spec.Gate != nil {
		g := *spec.Gate
		step.Gate = &g
	}
	switch step.Kind {
	case contracts.StepWait:
		step.Wait = *spec.Wait
	case contracts.StepAnalysis:
		a := *spec.Analysis
		a.Checks = slices.Clone(a.Checks)
		step.Analysis = &a
	case contracts.StepPhase:
		step.Batches = Batches(hosts, spec.Batch)
		step.Checks = slices.Clone(spec.Checks)
		if spec.MaxFailed != nil {
			n := MaxFailed(*spec.MaxFailed, len(hosts))
			step.MaxFailed = &n
		}
	}
	return step
}
