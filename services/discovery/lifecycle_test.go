package discovery

import (
	"slices"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/service"
)

func TestTargetsCarryTheApplicationsLifecycle(t *testing.T) {
	e := newEnv(t)
	e.start(func(c *Config, _ *service.Deps) {
		c.Inventory = []byte("lifecycle: [qa, production]\napp_lifecycles: {db: []}\n" + inventoryYAML)
	})
	for _, tc := range []struct {
		env, app string
		want     []string
	}{
		{"production", "web", []string{"qa", "production"}},
		{"qa", "web", []string{"qa", "production"}},
		{"production", "db", nil},
	} {
		got, err := e.targets(contracts.TargetsQuery{Environment: tc.env, App: tc.app})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Lifecycle, tc.want) {
			t.Errorf("%s of %s: lifecycle %v, want %v", tc.env, tc.app, got.Lifecycle, tc.want)
		}
	}
}
