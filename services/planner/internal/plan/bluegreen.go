package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rollwave/rollwave/contracts"
)

// blueGreen is a blue-green request laid out: the request with its deploy
// and keep steps, and the switch to insert after the deploy step.
type blueGreen struct {
	switchStep contracts.PlannedPhase
}

// expandBlueGreen splits the app's eligible hosts (names) into two sets by
// the label blue_green.label and decides which set is idle: the one not
// running the live version. A set runs the app when one of its hosts
// has a version of it; when both do, the live set is the one on the newer
// version (semver), and when neither does, the set whose label sorts
// first is deployed; blue_green.live overrides all of it. The request gets the steps deploy (the idle set) and
// keep (a wait, when keep is set); the switch step comes back separately,
// since a request has no traffic step. Any other request is returned as
// it is, with a nil *blueGreen.
func expandBlueGreen(req contracts.DeployRequest, names []string, hosts map[string]contracts.Host, env contracts.Environment, problems contracts.FieldErrors) (contracts.DeployRequest, *blueGreen, contracts.FieldErrors) {
	b := req.BlueGreen
	if req.Strategy != contracts.StrategyBlueGreen || b == nil {
		return req, nil, problems
	}
	label := b.Label
	if label == "" {
		label = contracts.DefaultColorLabel
	}
	sets := map[string][]string{}
	var unlabelled []string
	for _, n := range names {
		v := hosts[n].Labels[label]
		if v == "" {
			unlabelled = append(unlabelled, n)
			continue
		}
		sets[v] = append(sets[v], n)
	}
	before := len(problems)
	if len(unlabelled) > 0 {
		problems.Add("blue_green.label", "hosts of %s without the label %q: %s", req.App, label, strings.Join(unlabelled[:min(len(unlabelled), maxDriverErrors)], ", "))
	}
	colors := slices.Sorted(maps.Keys(sets))
	if len(colors) != 2 {
		problems.Add("blue_green.label", "the hosts of %s must form two sets by the label %q, got %d (%s)", req.App, label, len(colors), strings.Join(colors, ", "))
	}
	traffic, trafficProblems := resolveTraffic(req, env)
	problems = append(problems, trafficProblems...)
	if len(problems) > before {
		return req, nil, problems
	}
	live, err := liveSet(req.App, colors, sets, hosts)
	switch {
	case b.Live != "" && !slices.Contains(colors, b.Live):
		problems.Add("blue_green.live", "no host of %s has %s=%s (the sets are %s)", req.App, label, b.Live, strings.Join(colors, ", "))
		return req, nil, problems
	case b.Live != "":
		live = b.Live
	case err != "":
		problems.Add("blue_green.label", "%s; say which takes traffic with blue_green.live", err)
		return req, nil, problems
	}
	idle := colors[0]
	if live == colors[0] {
		idle = colors[1]
	}
	traffic.Target, traffic.From = idle, live
	req.Phases = []contracts.PhaseSpec{{Name: contracts.DeployStep, Hosts: slices.Clone(sets[idle]), Batch: b.Batch, Checks: slices.Clone(b.Checks)}}
	if b.Keep > 0 {
		keep := b.Keep
		req.Phases = append(req.Phases, contracts.PhaseSpec{Name: contracts.KeepStep, Wait: &keep})
	}
	if req.Failure.OnFailure == "" {
		req.Failure.OnFailure = contracts.OnFailureRollback
	}
	return req, &blueGreen{switchStep: contracts.PlannedPhase{ID: contracts.StepID(contracts.SwitchStep), Name: contracts.SwitchStep,
		Kind: contracts.StepTraffic, Traffic: &traffic}}, problems
}

// liveSet names the set that runs the live version of app, "" when none
// does, or explains why it cannot tell.
func liveSet(app string, colors []string, sets map[string][]string, hosts map[string]contracts.Host) (string, string) {
	newest := map[string]string{}
	for _, c := range colors {
		for _, n := range sets[c] {
			v := hosts[n].Versions[app].Version
			if v == "" {
				continue
			}
			if cur, ok := newest[c]; !ok || newer(v, cur) {
				newest[c] = v
			}
		}
	}
	switch len(newest) {
	case 0:
		return "", ""
	case 1:
		for c := range newest {
			return c, ""
		}
	}
	a, b := newest[colors[0]], newest[colors[1]]
	switch {
	case newer(a, b):
		return colors[0], ""
	case newer(b, a):
		return colors[1], ""
	}
	return "", fmt.Sprintf("cannot tell which set runs the live version of %s: %s runs %s and %s runs %s", app, colors[0], a, colors[1], b)
}

// newer reports whether version a is newer than b, by semver; false when
// either does not parse.
func newer(a, b string) bool {
	va, errA := contracts.ParseVersion(a)
	vb, errB := contracts.ParseVersion(b)
	return errA == nil && errB == nil && va.Compare(vb) > 0
}

// resolveTraffic turns the request's traffic spec into the switch an
// executor runs: the named procedure's traffic argv, or the HTTP call.
func resolveTraffic(req contracts.DeployRequest, env contracts.Environment) (contracts.PlannedTraffic, contracts.FieldErrors) {
	var fe contracts.FieldErrors
	t := req.BlueGreen.Traffic
	if t.HTTP != nil {
		h := *t.HTTP
		return contracts.PlannedTraffic{HTTP: &h}, nil
	}
	proc, ok := env.Procedures[t.Procedure]
	switch {
	case !ok:
		fe.Add("blue_green.traffic.procedure", "unknown procedure %q in environment %q (%s)", t.Procedure, env.Name, procedureList(env))
	case proc.Traffic == nil:
		fe.Add("blue_green.traffic.procedure", "procedure %q of environment %q has no traffic switch (procedures.%s.traffic)", t.Procedure, env.Name, t.Procedure)
	case len(proc.Apps) > 0 && !slices.Contains(proc.Apps, req.App):
		fe.Add("blue_green.traffic.procedure", "procedure %q of environment %q is for %s, not %q", t.Procedure, env.Name, strings.Join(proc.Apps, ", "), req.App)
	}
	if fe != nil {
		return contracts.PlannedTraffic{}, fe
	}
	x := *proc.Traffic
	x.Command = slices.Clone(x.Command)
	return contracts.PlannedTraffic{Exec: &x}, nil
}
