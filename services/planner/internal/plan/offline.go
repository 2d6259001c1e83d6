package plan

import (
	"fmt"
	"slices"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// maxOfflineErrors bounds the offline hosts named one by one.
const maxOfflineErrors = 20

// dropOffline applies the request's offline policy to the assigned hosts:
// under "fail" (the default) each offline target is a problem; under
// "exclude" offline hosts leave their phase, and a phase left with no
// host is a problem. Hosts without a known liveness count as online.
func dropOffline(req contracts.DeployRequest, assigned [][]string, hosts map[string]contracts.Host, problems contracts.FieldErrors) ([][]string, contracts.FieldErrors) {
	offline := func(name string) bool { return hosts[name].Liveness == contracts.LivenessOffline }
	if req.Offline == contracts.OfflineExclude {
		out := make([][]string, len(assigned))
		for i, phase := range assigned {
			out[i] = slices.DeleteFunc(slices.Clone(phase), offline)
			if len(phase) > 0 && len(out[i]) == 0 {
				problems.Add(fmt.Sprintf("phases[%d]", i), "every host of phase %q is offline", req.Phases[i].Name)
			}
		}
		return out, problems
	}
	n := 0
	for _, phase := range assigned {
		for _, name := range phase {
			if !offline(name) {
				continue
			}
			if n == maxOfflineErrors {
				problems.Add("offline", "more hosts are offline")
				return assigned, problems
			}
			n++
			seen := "never"
			if t := hosts[name].LastSeen; t != nil {
				seen = t.UTC().Format(time.RFC3339)
			}
			problems.Add("offline", "host %q is offline (last heard from %s); set offline: exclude to leave offline hosts out", name, seen)
		}
	}
	return assigned, problems
}
