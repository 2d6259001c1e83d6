package inventory

import (
	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// calendarPolicies reads an environment's on_blocked and on_freeze, the
// calendar policies of requests that name none.
func (p *parser) calendarPolicies(path string, n *yaml.Node, f map[string]entry, env *Environment) {
	if s := p.str(path, n, f, "on_blocked", false); s != "" {
		env.OnBlocked = contracts.OnBlocked(s)
		if err := env.OnBlocked.Validate(join(path, "on_blocked")); err != nil {
			p.fail(join(path, "on_blocked"), f["on_blocked"].val, "%s", contracts.AsError(err).Message)
		}
	}
	if s := p.str(path, n, f, "on_freeze", false); s != "" {
		env.OnFreeze = contracts.OnFreeze(s)
		if err := env.OnFreeze.Validate(join(path, "on_freeze")); err != nil {
			p.fail(join(path, "on_freeze"), f["on_freeze"].val, "%s", contracts.AsError(err).Message)
		}
	}
}
