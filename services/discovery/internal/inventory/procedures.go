package inventory

import (
	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// procedures reads an environment's named procedures:
//
//	procedures:
//	  deploy:
//	    driver: {exec: {command: [/opt/deploy, "{{.Version}}"]}}
//	    apps: [web]      # optional: only these applications may use it
//	    before_host:     # optional: hooks around each host (hooks.go)
//	      - haproxy: {socket: /run/haproxy.sock, backend: web, server: "{{.Host.Name}}", state: drain, wait_sessions: 30s}
//	    after_host:
//	      - haproxy: {socket: /run/haproxy.sock, backend: web, server: "{{.Host.Name}}", state: ready}
func (p *parser) procedures(path string, n *yaml.Node) map[string]contracts.Procedure {
	entries, ok := p.mapping(path, n, 0)
	if !ok || len(entries) == 0 {
		return nil
	}
	out := make(map[string]contracts.Procedure, len(entries))
	for _, e := range entries {
		pp := join(path, e.key)
		if err := contracts.CheckToken(pp, e.key); err != nil {
			p.fail(pp, e.kn, "a procedure name %s", contracts.AsError(err).Message)
			continue
		}
		f, ok := p.fields(pp, e.val, "driver", "apps", "traffic", "before_host", "after_host")
		if !ok {
			continue
		}
		before := len(p.errs)
		var proc contracts.Procedure
		d, ok := f["driver"]
		if !ok || isNull(d.val) {
			p.fail(join(pp, "driver"), e.kn, "is required: how the procedure deploys a host")
		} else if spec := p.driver(join(pp, "driver"), d.val); spec != nil {
			proc.Driver = *spec
		}
		if t, ok := f["traffic"]; ok && !isNull(t.val) {
			// A traffic switch (blue-green) is an exec argv, like a driver's.
			tp := join(pp, "traffic")
			if spec := p.driver(tp, t.val); spec != nil {
				if spec.Exec == nil {
					p.fail(tp, t.val, "must be exec: {command: [...]}, the argv that switches traffic ({{.Target}} is the set it goes to)")
				} else {
					proc.Traffic = spec.Exec
				}
			}
		}
		if h, ok := f["before_host"]; ok {
			proc.BeforeHost = p.hooks(join(pp, "before_host"), h.val)
		}
		if h, ok := f["after_host"]; ok {
			proc.AfterHost = p.hooks(join(pp, "after_host"), h.val)
		}
		appsPath := join(pp, "apps")
		for i, a := range p.sequence(appsPath, f["apps"].val) {
			ap := index(appsPath, i)
			if name := p.scalar(ap, a); name != "" {
				proc.Apps = append(proc.Apps, name)
			}
		}
		if len(p.errs) != before {
			continue
		}
		// The driver and traffic have passed; what is left for Validate is
		// the apps.
		for _, fe := range proc.Validate(pp) {
			p.fail(fe.Field, f["apps"].val, "%s", fe.Message)
		}
		if len(p.errs) == before {
			out[e.key] = proc
		}
	}
	return out
}

// boolean reads an optional true/false field.
func (p *parser) boolean(path string, n *yaml.Node) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.fail(path, n, "must be true or false")
		return false
	}
	return v
}
