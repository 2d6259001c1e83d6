// Package plan is the planner's pure core: it lays a deploy request out
// over an environment's inventory as phases of batches of hosts. It does no
// I/O and reads no clock; the same inputs always give the same plan.
package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// maxDriverErrors bounds how many hosts without a driver are named one by
// one; an environment of thousands should not produce thousands of lines.
const maxDriverErrors = 10

// Build resolves req against the inventory env into a plan.
//
// It runs req.Validate first, then checks the request against the
// inventory, reporting every problem as contracts.FieldErrors with JSON
// paths. Hosts are assigned in three passes: hand-picked hosts to their
// phase in the order given; then each selector phase, in phase order, takes
// the matching hosts not yet taken, sorted by name; then the phase with
// neither hosts nor selector takes every host left, sorted by name. A start
// time not after now is dropped: the rollout may start at once.
func Build(req contracts.DeployRequest, env contracts.Environment, now time.Time) (contracts.Plan, error) {
	if err := req.Validate(); err != nil {
		return contracts.Plan{}, err
	}
	if env.Name != req.Environment {
		// The inventory answers a different question: nothing else it says applies.
		return contracts.Plan{}, contracts.FieldErrors{{Field: "environment",
			Message: fmt.Sprintf("the inventory is of environment %q, not %q", env.Name, req.Environment)}}
	}

	var problems contracts.FieldErrors
	hosts := make(map[string]contracts.Host, len(env.Hosts))
	for _, h := range env.Hosts {
		if _, dup := hosts[h.Name]; dup {
			problems.Add("environment", "the inventory of environment %q lists host %q twice", env.Name, h.Name)
			continue
		}
		hosts[h.Name] = h
	}
	names := slices.Sorted(maps.Keys(hosts))
	// A rollout of an app targets only the hosts that run it: selectors and
	// the rest phase choose among them, and a hand-picked host must be one.
	runs := appHosts(env, req.App)
	if runs != nil {
		names = slices.DeleteFunc(names, func(n string) bool { return !runs[n] })
		if len(names) == 0 {
			problems.Add("app", "no host of environment %q runs %q: the inventory's applications say which hosts run which application", env.Name, req.App)
		}
	}

	req, problems = expandCanary(req, names, problems)
	req, bg, problems := expandBlueGreen(req, names, hosts, env, problems)
	if len(problems) > 0 && len(req.Phases) == 0 {
		return contracts.Plan{}, problems // a strategy that could not lay out its steps
	}
	assigned, problems := assign(req, hosts, runs, names, env.Name, problems)
	assigned, problems = dropOffline(req, assigned, hosts, problems)
	driver, procProblems := Procedure(req, env)
	problems = append(problems, procProblems...)
	requestDriver := driver != nil || procProblems != nil
	checks, checkProblems := Checks(req, env)
	problems = append(problems, checkProblems...)
	problems = append(problems, RequestParams(req, env)...)
	var driverless []string
	for _, phase := range assigned {
		for _, name := range phase {
			if h := hosts[name]; !requestDriver && (h.Driver == nil || h.Driver.Name() == "") {
				driverless = append(driverless, name)
			}
		}
	}
	for i, name := range driverless {
		if i == maxDriverErrors {
			problems.Add("driver", "%d more hosts have no driver and the request sets none", len(driverless)-i)
			break
		}
		problems.Add("driver", "host %q has no driver and the request sets none", name)
	}
	if len(problems) > 0 {
		return contracts.Plan{}, problems
	}

	p := contracts.Plan{
		Rollout:     req.ID,
		App:         req.App,
		Version:     req.Version,
		Environment: req.Environment,
		Strategy:    req.Strategy,
		Phases:      make([]contracts.PlannedPhase, len(req.Phases)),
		Hosts:       make(map[string]contracts.PlannedHost),
		OnFailure:   req.Failure.OnFailure,
		Checks:      checks,
		Params:      maps.Clone(req.Params),
		RequestedBy: req.RequestedBy,
		Reason:      req.Reason,
		Team:        req.Team,
		Labels:      maps.Clone(req.Labels),
		// The request's calendar policy wins; the environment's applies
		// to requests that name none.
		OnBlocked: cmp.Or(req.OnBlocked, env.OnBlocked),
		OnFreeze:  cmp.Or(req.OnFreeze, env.OnFreeze),
		// The scheduler times each action from its dispatch.
		ActionTimeout: req.ActionTimeout,
	}
	if p.Strategy == "" {
		p.Strategy = contracts.StrategyRolling
	}
	if p.OnFailure == "" {
		p.OnFailure = contracts.OnFailurePause
	}
	if req.StartAt != nil && req.StartAt.After(now) {
		at := req.StartAt.UTC()
		p.StartAt = &at
	}
	for i, spec := range req.Phases {
		p.Phases[i] = plannedStep(spec, assigned[i])
		for _, name := range assigned[i] {
			p.Hosts[name] = plannedHost(hosts[name], env.Params, req, driver)
		}
	}
	from := ""
	if driver != nil {
		from = "driver"
		if req.Procedure != "" {
			from = "procedure"
		}
	}
	if problems := renderProblems(req, checks, assigned, p.Hosts, from); len(problems) > 0 {
		return contracts.Plan{}, problems
	}
	if bg != nil {
		// The switch goes right after the deploy step.
		p.Phases = slices.Insert(p.Phases, 1, bg.switchStep)
	}
	if problems := stepRenderProblems(req, p); len(problems) > 0 {
		return contracts.Plan{}, problems
	}
	p.MaxFailed = MaxFailed(req.Failure.MaxFailed, p.TotalHosts())
	return p, nil
}

// assign gives each phase its hosts, adding inventory problems.
// runs, when not nil, holds the hosts that run the request's app; names
// are the candidates of selector and rest phases, sorted.
func assign(req contracts.DeployRequest, hosts map[string]contracts.Host, runs map[string]bool, names []string, env string, problems contracts.FieldErrors) ([][]string, contracts.FieldErrors) {
	phases := req.Phases
	assigned := make([][]string, len(phases))
	taken := make(map[string]int, len(hosts))
	take := func(i int, name string) {
		taken[name] = i
		assigned[i] = append(assigned[i], name)
	}
	for i, ph := range phases {
		for j, name := range ph.Hosts {
			field := fmt.Sprintf("phases[%d].hosts[%d]", i, j)
			if _, ok := hosts[name]; !ok {
				problems.Add(field, "unknown host %q in environment %q", name, env)
				continue
			}
			if runs != nil && !runs[name] {
				problems.Add(field, "host %q does not run %q in environment %q", name, req.App, env)
				continue
			}
			if in, ok := taken[name]; ok {
				problems.Add(field, "already in phase %q", phases[in].Name)
				continue
			}
			take(i, name)
		}
	}
	for i, ph := range phases {
		if len(ph.Hosts) > 0 || ph.Selector == nil || ph.StepKind() != contracts.StepPhase {
			continue
		}
		for _, name := range names {
			if _, ok := taken[name]; !ok && Matches(*ph.Selector, hosts[name]) {
				take(i, name)
			}
		}
	}
	// Validate allows one rest phase; should a second slip through, it
	// gets nothing and is reported below as selecting no hosts.
	if i := slices.IndexFunc(phases, isRest); i >= 0 {
		for _, name := range names {
			if _, ok := taken[name]; !ok {
				take(i, name)
			}
		}
	}
	for i, ph := range phases {
		// A hand-picked phase can only be empty when each of its hosts was
		// already reported above.
		if len(assigned[i]) == 0 && len(ph.Hosts) == 0 && ph.StepKind() == contracts.StepPhase {
			problems.Add(fmt.Sprintf("phases[%d]", i), "selects no hosts")
		}
	}
	return assigned, problems
}

func isRest(ph contracts.PhaseSpec) bool {
	return len(ph.Hosts) == 0 && ph.Selector == nil && ph.StepKind() == contracts.StepPhase
}

// Matches reports whether h belongs to the selector's group (when set) and
// carries each of its labels with the same value.
func Matches(s contracts.Selector, h contracts.Host) bool {
	if s.Group != "" && !slices.Contains(h.Groups, s.Group) {
		return false
	}
	for k, v := range s.Labels {
		if got, ok := h.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Batches cuts a phase's hosts into batches. Each step of spec sizes one
// batch and the last step repeats; a percentage is of the phase's host
// count, rounded up; every batch has at least one host and the last takes
// what remains. The zero spec puts the whole phase in one batch.
func Batches(hosts []string, spec contracts.BatchSpec) [][]string {
	n := len(hosts)
	if n == 0 {
		return nil
	}
	if spec.IsZero() {
		return [][]string{slices.Clone(hosts)}
	}
	var out [][]string
	for k, i := 0, 0; i < n; k++ {
		step := spec.Steps[min(k, len(spec.Steps)-1)]
		size := min(max(step.Of(n), 1), n-i)
		out = append(out, slices.Clone(hosts[i:i+size]))
		i += size
	}
	return out
}

// MaxFailed resolves a failure threshold against the rollout's host count:
// a count as is, a percentage rounded down, so that "10%" of 9 hosts
// tolerates none rather than one more than asked.
func MaxFailed(s contracts.Size, total int) int {
	if s.IsPercent() {
		return max(total*s.Percent/100, 0)
	}
	return max(s.Count, 0)
}

func plannedHost(h contracts.Host, envParams map[string]string, req contracts.DeployRequest, driver *contracts.DriverSpec) contracts.PlannedHost {
	ph := contracts.PlannedHost{
		Name:            h.Name,
		Address:         h.Address,
		Pool:            h.Pool,
		PreviousVersion: h.Versions[req.App].Version,
	}
	if ph.Pool == "" {
		ph.Pool = contracts.DefaultPool
	}
	if len(envParams)+len(h.Params) > 0 {
		ph.Params = make(map[string]string, len(envParams)+len(h.Params))
		maps.Copy(ph.Params, envParams)
		maps.Copy(ph.Params, h.Params)
	}
	if driver != nil {
		ph.Driver = *driver
	} else {
		ph.Driver = *h.Driver
	}
	return ph
}
