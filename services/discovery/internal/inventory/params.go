package inventory

import (
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// paramName is the rule of a request parameter's name (contracts'
// DeployRequest.Validate applies the same).
var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// requestParams reads allow_request_params: true (every name), false, or
// a list of the parameter names a request may set.
//
//	allow_request_params: [channel, feature]
func (p *parser) requestParams(path string, n *yaml.Node, env *Environment) {
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		env.AllowRequestParams = p.boolean(path, n)
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(path, n, "must be true, false or a list of parameter names, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	names := []string{}
	for i, item := range p.sequence(path, n) {
		ip := index(path, i)
		name := p.scalar(ip, item)
		switch {
		case name == "":
		case !paramName.MatchString(name):
			p.fail(ip, item, "must be a parameter name (a letter or '_', then letters, digits, '_', '.' or '-'), got %q", name)
		case seen[name]:
			p.fail(ip, item, "repeats %q", name)
		default:
			seen[name] = true
			names = append(names, name)
		}
	}
	slices.Sort(names)
	env.AllowedRequestParams = names
}
