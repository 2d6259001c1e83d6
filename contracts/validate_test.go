package contracts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// validRequest uses every part of a request, so each case below breaks
// exactly one rule.
func validRequest() DeployRequest {
	return DeployRequest{
		ID: "web-2-4-1", App: "web", Version: "2.4.1", Environment: "production", Strategy: StrategyRolling,
		Phases: []PhaseSpec{
			{Name: "canary", Hosts: []string{"web-01", "web-02.example.com"}, Checks: []string{"healthz"}},
			{Name: "east", Selector: &Selector{Group: "east", Labels: map[string]string{"tier": "web"}}, Batch: BatchSpec{Steps: []Size{{Count: 2}}}},
			{Name: "rest", Batch: BatchSpec{Steps: []Size{{Count: 1}, {Count: 5}, {Percent: 20}}}},
		},
		Failure: FailurePolicy{MaxFailed: Size{Percent: 10}, OnFailure: OnFailurePause},
		Checks: map[string]CheckSpec{"healthz": {HTTP: &HTTPCheck{
			URL: "http://{{.Host.Address}}/healthz", Status: 200, Consecutive: 3,
			Interval: Duration(time.Second), Timeout: Duration(2 * time.Second), Deadline: Duration(time.Minute)}}},
		Driver: &DriverSpec{Exec: &ExecDriver{Command: []string{"./deploy.sh", "{{.Host.Name}}", "{{.Version}}"},
			Env: map[string]string{"RELEASE": "{{.Version}}", "_X1": "y"}, Timeout: Duration(time.Minute)}},
		Params: map[string]string{"region": "eu", "_a.b-c": "x"},
	}
}

func TestValidateAcceptsValidRequests(t *testing.T) {
	if err := validRequest().Validate(); err != nil {
		t.Fatal(err)
	}
	r := validRequest()
	r.Strategy, r.Failure, r.Driver = "", FailurePolicy{}, &DriverSpec{Sim: &SimDriver{Median: Duration(time.Second), P99: Duration(time.Second), FailureRate: 1}}
	r.Phases[2].Batch = BatchSpec{Steps: []Size{{Percent: 100}}}
	r.Version = "1.0.0-rc.1+build.5"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	type mutation = func(r *DeployRequest)
	exec := func(r *DeployRequest) *ExecDriver { return r.Driver.Exec }
	sim := func(r *DeployRequest, s SimDriver) { r.Driver = &DriverSpec{Sim: &s} }
	http := func(r *DeployRequest) *HTTPCheck { return r.Checks["healthz"].HTTP }
	tests := []struct {
		name   string
		mutate mutation
		fields []string // every field with a problem, in order
		msg    string   // part of the first message
	}{
		{"id missing", func(r *DeployRequest) { r.ID = "" }, []string{"id"}, "is required"},
		{"id not a token", func(r *DeployRequest) { r.ID = "web.1" }, []string{"id"}, "letters, digits"},
		{"id starts with dash", func(r *DeployRequest) { r.ID = "-a" }, []string{"id"}, "starting with"},
		{"id too long", func(r *DeployRequest) { r.ID = strings.Repeat("a", 129) }, []string{"id"}, "1-128"},
		{"app missing", func(r *DeployRequest) { r.App = "" }, []string{"app"}, "is required"},
		{"app upper case", func(r *DeployRequest) { r.App = "Web" }, []string{"app"}, "lower-case"},
		{"app too long", func(r *DeployRequest) { r.App = strings.Repeat("a", 64) }, []string{"app"}, "1-63"},
		{"app leading dot", func(r *DeployRequest) { r.App = ".web" }, []string{"app"}, "starting with"},
		{"version missing", func(r *DeployRequest) { r.Version = "" }, []string{"version"}, "is required"},
		{"version with a shell metacharacter", func(r *DeployRequest) { r.Version = "2.4.1;rm" }, []string{"version"}, `';' at position 6`},
		{"version like an option", func(r *DeployRequest) { r.Version = "-rf" }, []string{"version"}, "starting with a letter or digit"},
		{"version too long", func(r *DeployRequest) { r.Version = strings.Repeat("a", 129) }, []string{"version"}, "got 129 characters"},
		{"environment missing", func(r *DeployRequest) { r.Environment = "" }, []string{"environment"}, "is required"},
		{"environment not a token", func(r *DeployRequest) { r.Environment = "prod>" }, []string{"environment"}, "letters"},
		{"strategy canary without canary", func(r *DeployRequest) { r.Strategy = StrategyCanary }, []string{"canary"}, "is required"},
		{"strategy blue-green without blue_green", func(r *DeployRequest) { r.Strategy = StrategyBlueGreen }, []string{"blue_green"}, "is required"},
		{"strategy unknown", func(r *DeployRequest) { r.Strategy = "yolo" }, []string{"strategy"}, `must be one of "rolling"`},
		{"no phases", func(r *DeployRequest) { r.Phases = nil }, []string{"phases"}, "at least one phase"},
		{"phase name missing", func(r *DeployRequest) { r.Phases[1].Name = "" }, []string{"phases[1].name"}, "is required"},
		{"phase name not a token", func(r *DeployRequest) { r.Phases[1].Name = "e ast" }, []string{"phases[1].name"}, "letters"},
		{"phase name repeated", func(r *DeployRequest) { r.Phases[2].Name = "canary" }, []string{"phases[2].name"}, "already the name of phases[0]"},
		{"hosts and selector", func(r *DeployRequest) { r.Phases[0].Selector = &Selector{Group: "x"} }, []string{"phases[0].selector"}, "cannot be combined with hosts"},
		{"host name empty", func(r *DeployRequest) { r.Phases[0].Hosts[1] = "" }, []string{"phases[0].hosts[1]"}, "must not be empty"},
		{"host name underscore", func(r *DeployRequest) { r.Phases[0].Hosts[1] = "web_02" }, []string{"phases[0].hosts[1]"}, "not a host name"},
		{"host name trailing dash", func(r *DeployRequest) { r.Phases[0].Hosts[1] = "web-.example.com" }, []string{"phases[0].hosts[1]"}, "not a host name"},
		{"host name empty label", func(r *DeployRequest) { r.Phases[0].Hosts[1] = "web..example" }, []string{"phases[0].hosts[1]"}, "not a host name"},
		{"host name label too long", func(r *DeployRequest) { r.Phases[0].Hosts[1] = strings.Repeat("a", 64) }, []string{"phases[0].hosts[1]"}, "not a host name"},
		{"host name too long", func(r *DeployRequest) { r.Phases[0].Hosts[1] = strings.Repeat("a.", 127) + "a" }, []string{"phases[0].hosts[1]"}, "255 characters long"},
		{"host repeated in phase", func(r *DeployRequest) { r.Phases[0].Hosts[1] = "web-01" }, []string{"phases[0].hosts[1]"}, "already listed at hosts[0]"},
		{"host in two phases", func(r *DeployRequest) { r.Phases[2].Hosts = []string{"web-02.example.com"} }, []string{"phases[2].hosts[0]"}, "already in phases[0]"},
		{"selector empty", func(r *DeployRequest) { r.Phases[1].Selector = &Selector{} }, []string{"phases[1].selector"}, "needs a group or labels"},
		{"selector labels only", func(r *DeployRequest) { r.Phases[1].Selector = &Selector{Labels: map[string]string{"a": "b"}} }, nil, ""},
		{"selector empty label name", func(r *DeployRequest) { r.Phases[1].Selector.Labels[""] = "x" }, []string{"phases[1].selector.labels"}, "must not be empty"},
		{"two rest phases", func(r *DeployRequest) { r.Phases[1].Selector = nil }, []string{"phases[2]"}, "phases[1] already takes the hosts"},
		{"batch zero", func(r *DeployRequest) { r.Phases[1].Batch = BatchSpec{Steps: []Size{{}}} }, []string{"phases[1].batch"}, "at least 1"},
		{"batch negative", func(r *DeployRequest) { r.Phases[1].Batch = BatchSpec{Steps: []Size{{Count: -2}}} }, []string{"phases[1].batch"}, "must not be negative"},
		{"batch over 100%", func(r *DeployRequest) { r.Phases[1].Batch = BatchSpec{Steps: []Size{{Percent: 150}}} }, []string{"phases[1].batch"}, "between 1% and 100%, got 150%"},
		{"batch step", func(r *DeployRequest) { r.Phases[2].Batch.Steps[1] = Size{} }, []string{"phases[2].batch[1]"}, "at least 1"},
		{"batch steps", func(r *DeployRequest) {
			r.Phases[2].Batch.Steps[0], r.Phases[2].Batch.Steps[2] = Size{}, Size{Percent: 101}
		},
			[]string{"phases[2].batch[0]", "phases[2].batch[2]"}, "at least 1"},
		{"phase check undefined and not a name", func(r *DeployRequest) { r.Phases[0].Checks = []string{"healthz", "smo ke"} }, []string{"phases[0].checks[1]"}, `"smo ke" is not defined under checks`},
		{"phase check repeated", func(r *DeployRequest) { r.Phases[0].Checks = []string{"healthz", "healthz"} }, []string{"phases[0].checks[1]"}, "already listed"},
		{"max_failed 0", func(r *DeployRequest) { r.Failure.MaxFailed = Size{} }, nil, ""},
		{"max_failed 100%", func(r *DeployRequest) { r.Failure.MaxFailed = Size{Percent: 100} }, nil, ""},
		{"max_failed negative", func(r *DeployRequest) { r.Failure.MaxFailed = Size{Count: -1} }, []string{"failure.max_failed"}, "must not be negative"},
		{"max_failed over 100%", func(r *DeployRequest) { r.Failure.MaxFailed = Size{Percent: 101} }, []string{"failure.max_failed"}, "between 0% and 100%"},
		{"on_failure abort", func(r *DeployRequest) { r.Failure.OnFailure = OnFailureAbort }, nil, ""},
		{"on_failure rollback", func(r *DeployRequest) { r.Failure.OnFailure = OnFailureRollback }, nil, ""},
		{"on_failure unknown", func(r *DeployRequest) { r.Failure.OnFailure = "panic" }, []string{"failure.on_failure"}, "must be one of"},
		{"check name not a token", func(r *DeployRequest) { r.Checks["a b"] = r.Checks["healthz"] }, []string{`checks["a b"]`}, "a check name"},
		{"check without variant", func(r *DeployRequest) { r.Checks["healthz"] = CheckSpec{} }, []string{"checks.healthz"}, "exactly one of: http"},
		{"check url missing", func(r *DeployRequest) { http(r).URL = "" }, []string{"checks.healthz.http.url"}, "is required"},
		{"check url bad template", func(r *DeployRequest) { http(r).URL = "http://{{.Host.Address}/" }, []string{"checks.healthz.http.url"}, "not a valid template"},
		{"check url unknown function", func(r *DeployRequest) { http(r).URL = "{{shell .X}}" }, []string{"checks.healthz.http.url"}, `"shell" not defined`},
		{"check status low", func(r *DeployRequest) { http(r).Status = 99 }, []string{"checks.healthz.http.status"}, "between 100 and 599"},
		{"check status high", func(r *DeployRequest) { http(r).Status = 600 }, []string{"checks.healthz.http.status"}, "between 100 and 599"},
		{"check status unset", func(r *DeployRequest) { http(r).Status = 0 }, nil, ""},
		{"check consecutive", func(r *DeployRequest) { http(r).Consecutive = -1 }, []string{"checks.healthz.http.consecutive"}, "negative"},
		{"check interval", func(r *DeployRequest) { http(r).Interval = -1 }, []string{"checks.healthz.http.interval"}, "negative"},
		{"check timeout", func(r *DeployRequest) { http(r).Timeout = -1 }, []string{"checks.healthz.http.timeout"}, "negative"},
		{"check deadline", func(r *DeployRequest) { http(r).Deadline = -1 }, []string{"checks.healthz.http.deadline"}, "negative"},
		{"driver empty", func(r *DeployRequest) { r.Driver = &DriverSpec{} }, []string{"driver"}, "exactly one of: sim, exec"},
		{"driver both", func(r *DeployRequest) { r.Driver.Sim = &SimDriver{} }, []string{"driver"}, "2 are set"},
		{"driver absent", func(r *DeployRequest) { r.Driver = nil }, nil, ""},
		{"sim failure rate high", func(r *DeployRequest) { sim(r, SimDriver{FailureRate: 1.5}) }, []string{"driver.sim.failure_rate"}, "between 0 and 1"},
		{"sim failure rate low", func(r *DeployRequest) { sim(r, SimDriver{FailureRate: -0.1}) }, []string{"driver.sim.failure_rate"}, "between 0 and 1"},
		{"sim median", func(r *DeployRequest) { sim(r, SimDriver{Median: -1}) }, []string{"driver.sim.median"}, "negative"},
		{"sim p99", func(r *DeployRequest) { sim(r, SimDriver{P99: -1}) }, []string{"driver.sim.p99"}, "negative"},
		{"sim p99 below median", func(r *DeployRequest) {
			sim(r, SimDriver{Median: Duration(2 * time.Second), P99: Duration(time.Second)})
		},
			[]string{"driver.sim.p99"}, "must not be below median (2s)"},
		{"sim p99 alone", func(r *DeployRequest) { sim(r, SimDriver{P99: Duration(time.Second)}) }, nil, ""},
		{"sim fail host", func(r *DeployRequest) { sim(r, SimDriver{FailHosts: []string{"ok", "not ok"}}) }, []string{"driver.sim.fail_hosts[1]"}, "not a host name"},
		{"exec command missing", func(r *DeployRequest) { exec(r).Command = nil }, []string{"driver.exec.command"}, "is required"},
		{"exec program empty", func(r *DeployRequest) { exec(r).Command[0] = " " }, []string{"driver.exec.command[0]"}, "must name the program"},
		{"exec argument template", func(r *DeployRequest) { exec(r).Command[2] = "{{.Version" }, []string{"driver.exec.command[2]"}, "not a valid template"},
		{"exec program template", func(r *DeployRequest) { exec(r).Command[0] = "{{end}}" }, []string{"driver.exec.command[0]"}, "not a valid template"},
		{"exec env key", func(r *DeployRequest) { exec(r).Env["1X"] = "y" }, []string{"driver.exec.env.1X"}, "environment variable name"},
		{"exec env key with dash", func(r *DeployRequest) { exec(r).Env["A-B"] = "y" }, []string{"driver.exec.env.A-B"}, "environment variable name"},
		{"exec env value", func(r *DeployRequest) { exec(r).Env["RELEASE"] = "{{" }, []string{"driver.exec.env.RELEASE"}, "not a valid template"},
		{"exec timeout", func(r *DeployRequest) { exec(r).Timeout = -1 }, []string{"driver.exec.timeout"}, "negative"},
		{"param key digit", func(r *DeployRequest) { r.Params["1a"] = "x" }, []string{"params.1a"}, "parameter name"},
		{"param key space", func(r *DeployRequest) { r.Params["a b"] = "x" }, []string{`params["a b"]`}, "parameter name"},
		{"param key empty", func(r *DeployRequest) { r.Params[""] = "x" }, []string{`params[""]`}, "parameter name"},
		{"many problems at once", func(r *DeployRequest) { r.ID, r.App, r.Phases[1].Name = "", "", "" },
			[]string{"id", "app", "phases[1].name"}, "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mutate(&r)
			err := r.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want FieldErrors", err, err)
			}
			var got []string
			for _, f := range fe {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %q, want %q (%v)", got, tt.fields, fe)
			}
			if !strings.Contains(fe[0].Message, tt.msg) {
				t.Fatalf("message %q, want it to contain %q", fe[0].Message, tt.msg)
			}
			if ae := AsError(err); ae.Code != CodeInvalid || ae.Field != tt.fields[0] {
				t.Fatalf("AsError = %+v", ae)
			}
		})
	}
}

func TestDriverSpecValidateUsesTheGivenPath(t *testing.T) {
	fe := DriverSpec{Exec: &ExecDriver{}}.Validate("environments[0].hosts[3].driver")
	if len(fe) != 1 || fe[0].Field != "environments[0].hosts[3].driver.exec.command" {
		t.Fatalf("got %v", fe)
	}
	if fe := (DriverSpec{Sim: &SimDriver{}}).Validate("driver"); fe != nil {
		t.Fatalf("a default sim driver is valid, got %v", fe)
	}
}

func TestHostActionValidate(t *testing.T) {
	good := HostAction{ID: ActionID("r1", 0, "h1", 1), Rollout: "r1", Environment: "qa", App: "web", Version: "1.0.0",
		Host: ActionHost{Name: "h1"}, Attempt: 1, Driver: DriverSpec{Sim: &SimDriver{}},
		Checks: []NamedCheck{{Name: "hz", Spec: CheckSpec{HTTP: &HTTPCheck{URL: "http://{{.Host.Address}}/"}}}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mutate func(a *HostAction)
		field  string
	}{
		"id":           {func(a *HostAction) { a.ID = "" }, "id"},
		"rollout":      {func(a *HostAction) { a.Rollout = "a.b" }, "rollout"},
		"environment":  {func(a *HostAction) { a.Environment = "" }, "environment"},
		"app":          {func(a *HostAction) { a.App = "" }, "app"},
		"version":      {func(a *HostAction) { a.Version = "" }, "version"},
		"host":         {func(a *HostAction) { a.Host.Name = "" }, "host.name"},
		"attempt":      {func(a *HostAction) { a.Attempt = -1 }, "attempt"},
		"driver":       {func(a *HostAction) { a.Driver = DriverSpec{} }, "driver"},
		"check name":   {func(a *HostAction) { a.Checks[0].Name = "" }, "checks[0].name"},
		"check spec":   {func(a *HostAction) { a.Checks[0].Spec.HTTP.URL = "{{" }, "checks[0].spec.http.url"},
		"check varint": {func(a *HostAction) { a.Checks[0].Spec = CheckSpec{} }, "checks[0].spec"},
	} {
		t.Run(name, func(t *testing.T) {
			a := good
			a.Checks = []NamedCheck{{Name: "hz", Spec: CheckSpec{HTTP: &HTTPCheck{URL: "http://x"}}}}
			tt.mutate(&a)
			fe := AsFieldErrors(a.Validate())
			if len(fe) != 1 || fe[0].Field != tt.field {
				t.Fatalf("got %v, want one problem with %q", fe, tt.field)
			}
		})
	}
}

func TestHostResultValidate(t *testing.T) {
	good := HostResult{ActionID: "a", Rollout: "r1", Environment: "qa", Host: "h1", Status: ResultSucceeded,
		Checks: []CheckResult{{Name: "hz", Status: ResultFailed}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mutate := range map[string]func(r *HostResult){
		"action_id":        func(r *HostResult) { r.ActionID = "" },
		"rollout":          func(r *HostResult) { r.Rollout = "" },
		"environment":      func(r *HostResult) { r.Environment = "q a" },
		"host":             func(r *HostResult) { r.Host = "" },
		"status":           func(r *HostResult) { r.Status = "ok" },
		"checks[0].status": func(r *HostResult) { r.Checks = []CheckResult{{Name: "hz"}} },
	} {
		r := good
		mutate(&r)
		if fe := AsFieldErrors(r.Validate()); len(fe) != 1 || fe[0].Field != field {
			t.Errorf("got %v, want one problem with %q", fe, field)
		}
	}
}

func TestCheckURLScheme(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://{{.Host.Address}}/healthz": true,
		"HTTPS://example.com/":             true,
		"{{index .Params \"url\"}}":        true, // judged per host by the planner
		"file:///etc/passwd":               false,
		"not a url":                        false,
		"ftp://example.com/x":              false,
		"//example.com/x":                  false,
	} {
		fe := CheckSpec{HTTP: &HTTPCheck{URL: url}}.Validate("checks.healthz")
		if ok != (len(fe) == 0) || !ok && fe[0].Field != "checks.healthz.http.url" {
			t.Errorf("%q: %v", url, fe)
		}
	}
}

// A host action stopped by an abort reports cancelled; a check has no such
// outcome.
func TestHostResultCancelled(t *testing.T) {
	r := HostResult{ActionID: "a", Rollout: "r1", Environment: "qa", Host: "h", Status: ResultCancelled}
	if err := r.Validate(); err != nil {
		t.Fatalf("cancelled host result: %v", err)
	}
	r.Checks = []CheckResult{{Name: "c", Status: ResultCancelled}}
	if fe := AsFieldErrors(r.Validate()); len(fe) != 1 || fe[0].Field != "checks[0].status" {
		t.Fatalf("cancelled check: %v", fe)
	}
	r.Checks, r.Status = nil, "exploded"
	if fe := AsFieldErrors(r.Validate()); len(fe) != 1 || fe[0].Field != "status" {
		t.Fatalf("unknown status: %v", fe)
	}
}
