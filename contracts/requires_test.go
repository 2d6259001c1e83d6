package contracts

import (
	"strings"
	"testing"
)

func TestRequiresAndOfflineValidation(t *testing.T) {
	req := DeployRequest{ID: "r1", App: "web", Version: "1.0.0", Environment: "qa", Phases: []PhaseSpec{{Name: "all"}},
		Offline: "later",
		Requires: []Requirement{
			{App: "api", Version: ">=1"}, {App: "", Version: "^1"}, {App: "web", Version: "^1"},
			{App: "api", Version: ""}, {App: "Bad App", Version: "1"},
		}}
	err := req.Validate()
	fe := AsFieldErrors(err)
	var got []string
	for _, e := range fe {
		got = append(got, e.Field+": "+e.Message)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`offline: must be "fail" or "exclude", got "later"`,
		"requires[1].app: is required",
		"requires[2].app: an application cannot require itself",
		`requires[3].app: repeats "api" (also requires[0])`,
		"requires[3].version: is required",
		"requires[4].app: must be 1-63 lower-case letters",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	b := []byte(`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}],"offline":"exclude","requires":[{"app":"api","version":">=1"}]}`)
	r, err := DecodeDeployRequest(b)
	if err != nil || r.Offline != OfflineExclude || len(r.Requires) != 1 {
		t.Fatalf("decode: %+v %v", r, err)
	}
	if _, err := DecodeDeployRequest([]byte(`{"id":"r1","app":"web","version":"1.0.0","environment":"qa","phases":[{"name":"all"}],"requires":[{"app":"api","version":">=1","why":"x"}]}`)); err == nil {
		t.Fatal("unknown field in requires accepted")
	}
}
