package inventory

import (
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// hooks reads a procedure's before_host or after_host: a list of hooks,
// each decoded by the contract's strict JSON decoding (so durations and
// unknown fields behave as in a request) and then validated, every problem
// naming its path and line.
func (p *parser) hooks(path string, n *yaml.Node) []contracts.HostHook {
	if isNull(n) {
		return nil
	}
	var out []contracts.HostHook
	for i, item := range p.sequence(path, n) {
		ip := index(path, i)
		val, ok := p.jsonValue(ip, item, 0)
		if !ok {
			continue
		}
		b, err := json.Marshal(val)
		if err != nil {
			p.fail(ip, item, "cannot be written as JSON: %v", err)
			continue
		}
		var h contracts.HostHook
		if err := contracts.DecodeStrict(b, &h); err != nil {
			e := contracts.AsError(err)
			field := ip
			if e.Field != "" {
				field = ip + "." + e.Field
			}
			p.fail(field, p.nodeAt(item, e.Field), "%s", e.Message)
			continue
		}
		if fe := h.Validate(ip); len(fe) > 0 {
			for _, e := range fe {
				rel := strings.TrimPrefix(strings.TrimPrefix(e.Field, ip), ".")
				p.fail(e.Field, p.nodeAt(item, rel), "%s", e.Message)
			}
			continue
		}
		out = append(out, h)
	}
	return out
}

// nodeAt finds the node at a dotted path below n ("haproxy.socket"), for
// its line; it stops at the deepest node it finds.
func (p *parser) nodeAt(n *yaml.Node, dotted string) *yaml.Node {
	if dotted == "" {
		return n
	}
	for _, key := range strings.Split(dotted, ".") {
		n = p.deref(n)
		if n.Kind != yaml.MappingNode {
			return n
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			return n
		}
	}
	return n
}
