package plan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

func TestRequestParamsNeedTheEnvironmentsLeave(t *testing.T) {
	req := request(contracts.PhaseSpec{Name: "all"})
	req.Params = map[string]string{"channel": "beta", "feature": "on"}
	for _, tc := range []struct {
		name  string
		edit  func(*contracts.Environment)
		wants []string // field: message part
	}{
		{name: "not allowed", edit: func(*contracts.Environment) {}, wants: []string{
			`params.channel: environment "prod" does not take params from requests`,
			`params.feature: environment "prod" does not take params from requests`}},
		{name: "all allowed", edit: func(e *contracts.Environment) { e.AllowRequestParams = true }},
		{name: "named allowed", edit: func(e *contracts.Environment) { e.AllowedRequestParams = []string{"channel", "feature"} }},
		{name: "one of two allowed", edit: func(e *contracts.Environment) { e.AllowedRequestParams = []string{"channel"} }, wants: []string{
			`params.feature: environment "prod" takes only these params from requests: [channel]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env(hosts(2))
			tc.edit(&e)
			_, err := Build(req, e, now)
			fe := contracts.AsFieldErrors(err)
			if len(fe) != len(tc.wants) {
				t.Fatalf("Build = %v, want %d problems", err, len(tc.wants))
			}
			for i, w := range tc.wants {
				if got := fe[i].Field + ": " + fe[i].Message; !strings.HasPrefix(got, w) {
					t.Errorf("problem %d = %q, want %q", i, got, w)
				}
			}
		})
	}
	// A request without params needs no leave.
	plain := request(contracts.PhaseSpec{Name: "all"})
	if _, err := Build(plain, env(hosts(2)), now); err != nil {
		t.Fatal(err)
	}
}

// TestParameterPrecedenceUpToTheRequest: discovery resolves environment <
// groups < host into each host's params (tested there); the plan keeps
// them per host and the request's params beside them, and the executor's
// templates see the request's over the host's.
func TestParameterPrecedenceUpToTheRequest(t *testing.T) {
	hs := hosts(1)
	hs[0].Params = map[string]string{"host": "host", "k1": "host", "k2": "host"}
	e := env(hs)
	e.Params = map[string]string{"env": "env", "k1": "env", "k2": "env", "k3": "env"}
	e.AllowedRequestParams = []string{"k2", "req"}
	req := request(contracts.PhaseSpec{Name: "all"})
	req.Params = map[string]string{"k2": "request", "req": "request"}
	p, err := Build(req, e, now)
	if err != nil {
		t.Fatal(err)
	}
	ph := p.Hosts["web-01"]
	action := contracts.HostAction{Host: contracts.ActionHost{Name: "web-01", Params: ph.Params}, Params: p.Params}
	got := render.MergeParams(action)
	want := map[string]string{"env": "env", "host": "host", "req": "request", "k1": "host", "k2": "request", "k3": "env"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("params %v, want %v", got, want)
	}
	out, err := render.String("x", `{{index .Params "k2"}}/{{.Host.Params.k2}}`, render.DataOf(action))
	if err != nil || out != "request/host" {
		t.Fatalf("render = %q %v", out, err)
	}
}
