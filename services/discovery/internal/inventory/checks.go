package inventory

import (
	"encoding/json"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// checks reads an environment's operator-defined checks, which requests
// name from phases[].checks:
//
//	checks:
//	  smoke: {command: {command: [/opt/smoke, "{{.Host.Address}}"], timeout: 30s}}
//	  db:    {tcp: {address: "{{.Host.Address}}:5432"}}
//
// The check's own JSON decoding and validation are the single definition of
// its shape; the YAML line of the field at fault is added here.
func (p *parser) checks(path string, n *yaml.Node) map[string]contracts.CheckSpec {
	entries, ok := p.mapping(path, n, 0)
	if !ok || len(entries) == 0 {
		return nil
	}
	out := make(map[string]contracts.CheckSpec, len(entries))
	for _, e := range entries {
		cp := join(path, e.key)
		if err := contracts.CheckToken(cp, e.key); err != nil {
			p.fail(cp, e.kn, "a check name %s", contracts.AsError(err).Message)
			continue
		}
		v, ok := p.jsonValue(cp, e.val, 0)
		if !ok {
			continue
		}
		if _, isMap := v.(map[string]any); !isMap {
			p.fail(cp, e.val, "must be a mapping with one of: http, tcp, command, prometheus, nats")
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			p.fail(cp, e.val, "cannot be written as JSON: %v", err)
			continue
		}
		var spec contracts.CheckSpec
		if err := contracts.DecodeStrict(b, &spec); err != nil {
			for _, fe := range contracts.AsFieldErrors(err) {
				p.fail(contracts.JoinPath(cp, fe.Field), nodeAt(e.val, fe.Field), "%s", fe.Message)
			}
			continue
		}
		if fe := spec.Validate(cp); len(fe) > 0 {
			for _, f := range fe {
				rel := strings.TrimPrefix(strings.TrimPrefix(f.Field, cp), ".")
				p.fail(f.Field, nodeAt(e.val, rel), "%s", f.Message)
			}
			continue
		}
		out[e.key] = spec
	}
	return out
}

// nodeAt finds the node at a relative JSON path ("tcp.timeout",
// "command.command[1]") under n, or the deepest one that exists, for its
// line number.
func nodeAt(n *yaml.Node, rel string) *yaml.Node {
	for _, part := range strings.Split(rel, ".") {
		if part == "" {
			continue
		}
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			next := valueOf(n, key)
			if next == nil {
				return n
			}
			n = next
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if n.Kind != yaml.SequenceNode || err != nil || i < 0 || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return n
}

func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
