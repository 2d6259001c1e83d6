package plan

import (
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// stepRenderProblems renders, up front, what the steps other than phases
// will render: every template of each analysis check for every host of the phase it
// measures, and a traffic switch's argv or URL for its target. A problem
// names the step's field (phases[i].analysis.checks[j].url,
// phases[i].traffic...).
func stepRenderProblems(req contracts.DeployRequest, p contracts.Plan) contracts.FieldErrors {
	r := &renderer{compiled: map[string]*render.Template{}, reported: map[string]int{}}
	last := -1 // the last phase with hosts
	for i, step := range p.Phases {
		switch step.Kind {
		case contracts.StepPhase:
			last = i
		case contracts.StepAnalysis:
			if last < 0 || step.Analysis == nil {
				continue
			}
			for _, batch := range p.Phases[last].Batches {
				for _, name := range batch {
					d := render.DataOf(actionFor(req, p.Hosts[name]))
					for j, check := range step.Analysis.Checks {
						r.check(fmt.Sprintf("phases[%d].analysis.checks[%d]", i, j), check, p.Checks[check], d)
					}
				}
			}
		case contracts.StepTraffic:
			t := step.Traffic
			if t == nil {
				continue
			}
			a := actionFor(req, contracts.PlannedHost{Name: contracts.TrafficHost})
			a.Traffic = t
			d := render.DataOf(a)
			if t.HTTP != nil {
				field := fmt.Sprintf("phases[%d].traffic.http.url", i)
				if u, ok := r.render(field, "traffic.http.url", t.HTTP.URL, d); ok {
					if msg := checkURLProblem(u); msg != "" {
						r.add(field, "renders %s", msg)
					}
				}
			}
			if t.Exec != nil {
				for j, arg := range t.Exec.Command {
					field := fmt.Sprintf("phases[%d].traffic.exec.command[%d]", i, j)
					r.render(field, field, arg, d)
				}
			}
		}
	}
	return r.problems
}

// actionFor is the part of a host action that templates see.
func actionFor(req contracts.DeployRequest, h contracts.PlannedHost) contracts.HostAction {
	return contracts.HostAction{
		Rollout: req.ID, Environment: req.Environment, App: req.App, Version: req.Version,
		PreviousVersion: h.PreviousVersion, Params: req.Params,
		Host: contracts.ActionHost{Name: h.Name, Address: h.Address, Params: h.Params},
	}
}
