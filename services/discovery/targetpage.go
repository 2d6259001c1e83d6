package discovery

import (
	"encoding/json"
	"sort"

	"github.com/rollwave/rollwave/contracts"
)

// pageHosts cuts env.Hosts (sorted by name) to the page a targets query
// asks for: the hosts after `after` whose encodings add up to at most
// maxBytes, and always at least one, so every page makes progress. Paging
// by name rather than position keeps it right when the inventory changes
// between two pages: later pages see the change, no host is read twice.
func pageHosts(env *contracts.Environment, after string, maxBytes int) {
	hosts := env.Hosts
	start := 0
	if after != "" {
		start = sort.Search(len(hosts), func(i int) bool { return hosts[i].Name > after })
	}
	end, size := start, 0
	for end < len(hosts) {
		b, err := json.Marshal(hosts[end])
		if err != nil {
			break
		}
		if end > start && size+len(b)+1 > maxBytes {
			break
		}
		size += len(b) + 1
		end++
	}
	env.Hosts = hosts[start:end:end]
	env.HostsMore = end < len(hosts)
}
