package scheduler

import "github.com/rollwave/rollwave/contracts"

// boundHosts cuts an event's host list to contracts.MaxEventHosts names and
// records how many there were: a phase of 100,000 hosts would otherwise
// make a phase_started event larger than the stock 1 MB max_payload, and
// its publish would fail for ever. The full list stays in the rollout.
func boundHosts(ev contracts.Event) contracts.Event {
	if len(ev.Hosts) <= contracts.MaxEventHosts {
		return ev
	}
	ev.HostsTotal = len(ev.Hosts)
	ev.Hosts = ev.Hosts[:contracts.MaxEventHosts:contracts.MaxEventHosts]
	return ev
}
