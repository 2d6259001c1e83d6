package inventory

import (
	"slices"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

const lifecycleEnvs = `
environments:
  - name: qa
  - name: staging
  - name: production
`

func TestLifecycleParse(t *testing.T) {
	inv, err := Parse([]byte("lifecycle: [qa, staging, production]\napp_lifecycles:\n  billing: [staging, production]\n  docs: []\n" + lifecycleEnvs))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app, env string
		want     []string
	}{
		{"web", "production", []string{"qa", "staging", "production"}},
		{"web", "qa", []string{"qa", "staging", "production"}},
		{"", "staging", []string{"qa", "staging", "production"}},
		{"billing", "production", []string{"staging", "production"}},
		// An application's own order that leaves an environment out, or
		// an empty one, takes the release out of any lifecycle there.
		{"billing", "qa", nil},
		{"docs", "production", nil},
	} {
		if got := inv.LifecycleFor(tc.app, tc.env); !slices.Equal(got, tc.want) {
			t.Errorf("LifecycleFor(%q, %q) = %v, want %v", tc.app, tc.env, got, tc.want)
		}
	}

	none, err := Parse([]byte(lifecycleEnvs))
	if err != nil {
		t.Fatal(err)
	}
	if got := none.LifecycleFor("web", "production"); got != nil {
		t.Fatalf("no lifecycle declared, got %v", got)
	}
}

func TestLifecycleErrorsNameFieldAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown environment", "lifecycle: [qa, prod]\n", []string{`lifecycle[1]: names environment "prod", which the inventory does not define (environments: production, qa, staging) (line 1)`}},
		{"unknown on its own line", "lifecycle:\n  - qa\n  - stagign\n", []string{`lifecycle[1]: names environment "stagign"`, "(line 3)"}},
		{"repeated", "lifecycle: [qa, staging, qa]\n", []string{`lifecycle[2]: repeats environment "qa" (also lifecycle[0]) (line 1)`}},
		{"not a list", "lifecycle: qa\n", []string{"lifecycle: must be a list, got a scalar (line 1)"}},
		{"empty name", "lifecycle: [qa, '']\n", []string{"lifecycle[1]: must not be empty (line 1)"}},
		{"nested", "lifecycle: [[qa]]\n", []string{"lifecycle[0]: must be a string, got a list (line 1)"}},
		{"app unknown environment", "app_lifecycles:\n  web: [qa, prod]\n", []string{`app_lifecycles.web[1]: names environment "prod"`, "(line 2)"}},
		{"bad app name", "app_lifecycles:\n  Web: [qa]\n", []string{"app_lifecycles.Web: an application name must be", "(line 2)"}},
		{"apps not a mapping", "app_lifecycles: [qa]\n", []string{"app_lifecycles: must be a mapping, got a list (line 1)"}},
	} {
		_, err := Parse([]byte(tc.doc + lifecycleEnvs))
		fe := contracts.AsFieldErrors(err)
		if len(fe) != 1 {
			t.Errorf("%s: got %v, want one problem", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(fe[0].String(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, fe[0].String(), w)
			}
		}
	}
}
