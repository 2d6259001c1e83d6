package plan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// A seeded generator of inventories and requests: each case is
// reproducible from its number, which failures print.

func genInventory(r *rand.Rand) contracts.Environment {
	e := contracts.Environment{Name: "prod", Procedures: map[string]contracts.Procedure{
		"deploy": {Driver: contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"deploy"}}}},
	}}
	if r.IntN(2) == 0 {
		e.Params = map[string]string{"a": "env", "b": "env"}
	}
	for i, n := 0, r.IntN(40); i < n; i++ {
		h := contracts.Host{Name: fmt.Sprintf("h-%02d", i), Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250)}
		for _, g := range []string{"a", "b", "c"} {
			if r.IntN(3) == 0 {
				h.Groups = append(h.Groups, g)
			}
		}
		h.Labels = map[string]string{}
		if r.IntN(4) != 0 {
			h.Labels["zone"] = fmt.Sprint(r.IntN(3))
		}
		if r.IntN(2) == 0 {
			h.Labels["tier"] = []string{"web", "db"}[r.IntN(2)]
		}
		if r.IntN(3) == 0 {
			h.Params = map[string]string{"b": "host"}
		}
		if r.IntN(5) != 0 {
			h.Driver = &contracts.DriverSpec{Sim: &contracts.SimDriver{Seed: int64(i)}}
		}
		if r.IntN(2) == 0 {
			h.Versions = map[string]contracts.HostVersion{"web": {Version: "1.0.0"}}
		}
		e.Hosts = append(e.Hosts, h)
	}
	return e
}

func genSize(r *rand.Rand) contracts.Size {
	if r.IntN(2) == 0 {
		return contracts.Size{Count: 1 + r.IntN(6)}
	}
	return contracts.Size{Percent: 1 + r.IntN(100)}
}

func genRequest(r *rand.Rand, e contracts.Environment) contracts.DeployRequest {
	req := contracts.DeployRequest{ID: "r", App: "web", Version: "2.0.0", Environment: "prod"}
	if r.IntN(4) != 0 {
		req.Procedure = "deploy"
	}
	if r.IntN(2) == 0 {
		req.Failure.MaxFailed = contracts.Size{Count: r.IntN(4)}
	} else {
		req.Failure.MaxFailed = contracts.Size{Percent: 1 + r.IntN(100)}
	}
	unused := r.Perm(len(e.Hosts))
	rest := false
	for i, n := 0, 1+r.IntN(5); i < n; i++ {
		ph := contracts.PhaseSpec{Name: fmt.Sprintf("p%d", i)}
		switch k := r.IntN(4); {
		case k == 0 && len(unused) > 0:
			for j, m := 0, 1+r.IntN(min(3, len(unused))); j < m; j++ {
				ph.Hosts = append(ph.Hosts, e.Hosts[unused[0]].Name)
				unused = unused[1:]
			}
			if r.IntN(20) == 0 {
				ph.Hosts = append(ph.Hosts, fmt.Sprintf("ghost-%d", i))
			}
		case k == 1:
			ph.Selector = &contracts.Selector{Group: []string{"a", "b", "c"}[r.IntN(3)]}
		case k == 2:
			ph.Selector = &contracts.Selector{Labels: map[string]string{"zone": fmt.Sprint(r.IntN(3))}}
			if r.IntN(2) == 0 {
				ph.Selector.Group = "a"
			}
		case !rest:
			rest = true
		default:
			ph.Selector = &contracts.Selector{Labels: map[string]string{"tier": "web"}}
		}
		switch r.IntN(3) {
		case 0:
		case 1:
			ph.Batch.Steps = []contracts.Size{genSize(r)}
		default:
			for j, m := 0, 2+r.IntN(3); j < m; j++ {
				ph.Batch.Steps = append(ph.Batch.Steps, genSize(r))
			}
		}
		req.Phases = append(req.Phases, ph)
	}
	return req
}

// expectedPhase restates the assignment rule independently: the phase a
// host belongs to, or -1.
func expectedPhase(req contracts.DeployRequest, h contracts.Host) int {
	for i, ph := range req.Phases {
		if slices.Contains(ph.Hosts, h.Name) {
			return i
		}
	}
	for i, ph := range req.Phases {
		if len(ph.Hosts) == 0 && ph.Selector != nil && Matches(*ph.Selector, h) {
			return i
		}
	}
	for i, ph := range req.Phases {
		if len(ph.Hosts) == 0 && ph.Selector == nil {
			return i
		}
	}
	return -1
}

func TestBuildProperties(t *testing.T) {
	const cases = 1000
	planned := 0
	for n := range cases {
		r := rand.New(rand.NewPCG(uint64(n), 42))
		e := genInventory(r)
		req := genRequest(r, e)
		p, err := Build(req, e, now)
		if err != nil {
			checkRejection(t, n, err)
			continue
		}
		planned++
		checkPlan(t, n, req, e, p)

		// Determinism: again, and with the inventory in another order.
		again, err := Build(req, e, now)
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("case %d: second Build differs: %v", n, err)
		}
		shuffled := e
		shuffled.Hosts = slices.Clone(e.Hosts)
		r.Shuffle(len(shuffled.Hosts), func(i, j int) { shuffled.Hosts[i], shuffled.Hosts[j] = shuffled.Hosts[j], shuffled.Hosts[i] })
		other, err := Build(req, shuffled, now)
		if err != nil || !reflect.DeepEqual(p, other) {
			t.Fatalf("case %d: Build depends on inventory order: %v", n, err)
		}
	}
	// The generator must exercise both outcomes, or the properties prove little.
	if planned < cases/3 || planned > cases*9/10 {
		t.Fatalf("%d of %d cases planned: the generator is off balance", planned, cases)
	}
	t.Logf("%d of %d cases planned", planned, cases)
}

func checkRejection(t *testing.T, n int, err error) {
	t.Helper()
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || len(fe) == 0 {
		t.Fatalf("case %d: error %v is not field errors", n, err)
	}
	for _, f := range fe {
		ok := f.Field == "driver" || strings.HasPrefix(f.Field, "phases[") && (strings.HasSuffix(f.Message, "selects no hosts") ||
			strings.Contains(f.Message, `unknown host "ghost-`))
		if !ok {
			t.Fatalf("case %d: unexpected problem %v", n, f)
		}
	}
}

func checkPlan(t *testing.T, n int, req contracts.DeployRequest, e contracts.Environment, p contracts.Plan) {
	t.Helper()
	fail := func(format string, args ...any) { t.Fatalf("case %d: "+format, append([]any{n}, args...)...) }
	if len(p.Phases) != len(req.Phases) {
		fail("%d phases for %d", len(p.Phases), len(req.Phases))
	}
	// Every step has a stable id, derived from its name, unique in the plan.
	ids := map[string]bool{}
	for i, ph := range p.Phases {
		if ph.ID == "" || ph.ID != contracts.StepID(req.Phases[i].Name) || ids[ph.ID] || !contracts.ValidToken(ph.ID) {
			fail("phase %d has step id %q (name %q, seen %v)", i, ph.ID, req.Phases[i].Name, ids[ph.ID])
		}
		ids[ph.ID] = true
	}
	// Every host in exactly one batch of exactly one phase, and in Hosts.
	where := map[string]int{}
	for i, ph := range p.Phases {
		for _, b := range ph.Batches {
			for _, h := range b {
				if prev, dup := where[h]; dup {
					fail("host %s in phases %d and %d", h, prev, i)
				}
				where[h] = i
				if _, ok := p.Hosts[h]; !ok {
					fail("host %s batched but not in Hosts", h)
				}
			}
		}
	}
	if len(where) != len(p.Hosts) || p.TotalHosts() != len(where) {
		fail("%d batched hosts, %d in Hosts, total %d", len(where), len(p.Hosts), p.TotalHosts())
	}
	// Every inventory host where the rules put it, or nowhere.
	for _, h := range e.Hosts {
		got, in := where[h.Name]
		want := expectedPhase(req, h)
		if want < 0 && in || want >= 0 && (!in || got != want) {
			fail("host %s in phase %d (planned %v), want %d", h.Name, got, in, want)
		}
		if in {
			ph := p.Hosts[h.Name]
			if req.Procedure != "" && ph.Driver.Exec == nil || req.Procedure == "" && !reflect.DeepEqual(ph.Driver, *h.Driver) {
				fail("host %s has driver %+v", h.Name, ph.Driver)
			}
		}
	}
	for i, spec := range req.Phases {
		var flat []string
		for _, b := range p.Phases[i].Batches {
			flat = append(flat, b...)
		}
		if len(flat) == 0 {
			fail("phase %d planned empty", i)
		}
		// Hand-picked hosts keep their order; selected ones are sorted.
		if len(spec.Hosts) > 0 && !slices.Equal(flat, spec.Hosts) {
			fail("phase %d hosts %v, want %v in order", i, flat, spec.Hosts)
		}
		if len(spec.Hosts) == 0 && !slices.IsSorted(flat) {
			fail("phase %d hosts %v not sorted", i, flat)
		}
		// Batches follow the escalation: each is its step's size, at
		// least 1, and only the last may be smaller.
		batches := p.Phases[i].Batches
		if spec.Batch.IsZero() {
			if len(batches) != 1 {
				fail("phase %d: %d batches without a batch size", i, len(batches))
			}
			continue
		}
		for k, b := range batches {
			size := max(spec.Batch.Steps[min(k, len(spec.Batch.Steps)-1)].Of(len(flat)), 1)
			last := k == len(batches)-1
			if len(b) > size || !last && len(b) != size || len(b) == 0 {
				fail("phase %d batch %d has %d hosts, step size %d (last %v)", i, k, len(b), size, last)
			}
		}
	}
	if req.Failure.MaxFailed.IsPercent() {
		if want := p.TotalHosts() * req.Failure.MaxFailed.Percent / 100; p.MaxFailed != want {
			fail("max_failed %d, want %d", p.MaxFailed, want)
		}
	} else if p.MaxFailed != req.Failure.MaxFailed.Count {
		fail("max_failed %d, want %d", p.MaxFailed, req.Failure.MaxFailed.Count)
	}
}
