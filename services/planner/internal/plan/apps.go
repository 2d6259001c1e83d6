package plan

import (
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// appHosts returns the hosts of env that run app, or nil when the
// environment does not say which hosts run which applications, so that every
// host runs every application.
func appHosts(env contracts.Environment, app string) map[string]bool {
	if !env.AppsDeclared {
		return nil
	}
	runs := map[string]bool{}
	for _, h := range env.Hosts {
		if slices.Contains(h.Apps, app) {
			runs[h.Name] = true
		}
	}
	return runs
}
