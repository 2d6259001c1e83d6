package plan

import (
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// hooks renders the server name of each HAProxy hook of a procedure for
// one host: it must render and be a name HAProxy takes, or the request is
// rejected before any host is drained.
func (r *renderer) hooks(h *contracts.HostHooks, d render.Data) {
	if h == nil {
		return
	}
	check := func(list string, hooks []contracts.HostHook) {
		for i, hook := range hooks {
			if hook.HAProxy == nil {
				continue
			}
			name := fmt.Sprintf("%s[%d].haproxy.server", list, i)
			out, ok := r.render("procedure", name, hook.HAProxy.Server, d)
			if ok && !contracts.ValidHAProxyName(out) {
				r.add("procedure", "%s renders to %q for host %q, which is not an HAProxy server name (letters, digits, '_', '.', ':' or '-')", name, out, d.Host.Name)
			}
		}
	}
	check("before_host", h.Before)
	check("after_host", h.After)
}
