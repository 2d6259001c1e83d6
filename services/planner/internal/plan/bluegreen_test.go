package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// colored gives web-01..web-04 the label color: blue for 01-02, green for
// 03-04; running says which version of web each host runs.
func colored(running map[string]string) contracts.Environment {
	e := env(hosts(4))
	for i := range e.Hosts {
		c := "blue"
		if i >= 2 {
			c = "green"
		}
		e.Hosts[i].Labels["color"] = c
		if v := running[e.Hosts[i].Name]; v != "" {
			e.Hosts[i].Versions = map[string]contracts.HostVersion{"web": {Version: v}}
		}
	}
	e.Procedures = map[string]contracts.Procedure{
		"lb": {Driver: contracts.DriverSpec{Sim: &contracts.SimDriver{}}, Traffic: &contracts.ExecDriver{Command: []string{"/opt/lb", "{{.Target}}"}}},
	}
	return e
}

func blueGreenRequest() contracts.DeployRequest {
	req := request()
	req.Strategy = contracts.StrategyBlueGreen
	req.BlueGreen = &contracts.BlueGreenSpec{Keep: contracts.Duration(10 * time.Minute), Traffic: contracts.TrafficSpec{Procedure: "lb"}}
	return req
}

func TestBlueGreenDeploysTheIdleSet(t *testing.T) {
	// blue runs 2.4.0 (live), green 2.3.0: green is idle.
	p, err := Build(blueGreenRequest(), colored(map[string]string{"web-01": "2.4.0", "web-02": "2.4.0", "web-03": "2.3.0", "web-04": "2.3.0"}), now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Phases {
		got = append(got, s.ID+":"+s.Kind.String()+":"+names(s.Batches))
	}
	if want := []string{"deploy:phase:03,04", "switch:traffic:", "keep:wait:"}; !equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	tr := p.Phases[1].Traffic
	if tr == nil || tr.Target != "green" || tr.From != "blue" || tr.Exec == nil || tr.Exec.Command[1] != "{{.Target}}" {
		t.Fatalf("traffic %+v", tr)
	}
	if p.OnFailure != contracts.OnFailureRollback || p.Phases[2].Wait != contracts.Duration(10*time.Minute) {
		t.Fatalf("on_failure %q keep %v", p.OnFailure, p.Phases[2].Wait)
	}
	// live decides when the versions do not.
	req := blueGreenRequest()
	req.BlueGreen.Live = "green"
	if p, err := Build(req, colored(map[string]string{"web-01": "2.4.0", "web-03": "2.4.0"}), now); err != nil ||
		names(p.Phases[0].Batches) != "01,02" || p.Phases[1].Traffic.From != "green" {
		t.Fatalf("live green: %v %v", p.Phases, err)
	}
	// Only green runs web: blue is idle. Nothing runs it: blue (first).
	for running, idle := range map[string]string{"web-03": "01,02", "": "01,02"} {
		p, err := Build(blueGreenRequest(), colored(map[string]string{running: "2.4.0"}), now)
		if err != nil || names(p.Phases[0].Batches) != idle {
			t.Fatalf("with %q running: %v %v", running, p.Phases, err)
		}
	}
}

func TestBlueGreenRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		req   func() contracts.DeployRequest
		env   contracts.Environment
		field string
	}{
		"same version on both": {blueGreenRequest, colored(map[string]string{"web-01": "2.4.0", "web-03": "2.4.0"}), "blue_green.label"},
		"live names no set": {func() contracts.DeployRequest {
			r := blueGreenRequest()
			r.BlueGreen.Live = "red"
			return r
		}, colored(nil), "blue_green.live"},
		"unknown procedure": {func() contracts.DeployRequest {
			r := blueGreenRequest()
			r.BlueGreen.Traffic.Procedure = "nope"
			return r
		}, colored(nil), "blue_green.traffic.procedure"},
		"one set": {func() contracts.DeployRequest {
			r := blueGreenRequest()
			r.BlueGreen.Label = "zone"
			return r
		}, func() contracts.Environment {
			e := colored(nil)
			for i := range e.Hosts {
				e.Hosts[i].Labels["zone"] = "a"
			}
			return e
		}(), "blue_green.label"},
	} {
		_, err := Build(tc.req(), tc.env, now)
		var fe contracts.FieldErrors
		if !errors.As(err, &fe) || fe[0].Field != tc.field {
			t.Errorf("%s: %v, want %s", name, err, tc.field)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
