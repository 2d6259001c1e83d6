package planner

import (
	"context"
	"fmt"

	"github.com/rollwave/rollwave/contracts"
)

// maxTargetPages bounds the pages read for one environment: at 512 KiB a
// page that is about 5 million hosts.
const maxTargetPages = 10000

// targetPages asks for an environment's hosts page by page (by name, after
// the last host of the page before) and joins them. A discovery that does
// not page answers everything at once without HostsMore, which ends the
// loop. Hosts must come in strictly increasing name order across pages.
func targetPages(ctx context.Context, env string, ask func(context.Context, contracts.TargetsQuery) (contracts.Environment, error)) (contracts.Environment, error) {
	q := contracts.TargetsQuery{Environment: env, HostsMaxBytes: contracts.TargetsPageBytes}
	var out contracts.Environment
	for page := 0; ; page++ {
		if page == maxTargetPages {
			return contracts.Environment{}, fmt.Errorf("inventory of environment %s: more than %d pages of hosts", env, maxTargetPages)
		}
		e, err := ask(ctx, q)
		if err != nil {
			return contracts.Environment{}, fmt.Errorf("inventory of environment %s (page %d): %w", env, page+1, err)
		}
		if page == 0 {
			out = e
		} else {
			for _, h := range e.Hosts {
				if h.Name <= q.HostsAfter {
					return contracts.Environment{}, fmt.Errorf("inventory of environment %s: page %d repeats or reorders host %q", env, page+1, h.Name)
				}
				q.HostsAfter = h.Name
				out.Hosts = append(out.Hosts, h)
			}
		}
		if page == 0 && len(e.Hosts) > 0 {
			q.HostsAfter = e.Hosts[len(e.Hosts)-1].Name
		}
		if !e.HostsMore {
			out.HostsMore = false
			return out, nil
		}
		if len(e.Hosts) == 0 {
			return contracts.Environment{}, fmt.Errorf("inventory of environment %s: page %d is empty but says more follow", env, page+1)
		}
	}
}
