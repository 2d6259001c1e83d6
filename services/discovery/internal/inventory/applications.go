package inventory

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// Application says which hosts of an environment run an application: every
// host in one of Groups, every host carrying all of Labels, and the hosts
// named in Hosts.
type Application struct {
	Groups []string
	Labels map[string]string
	Hosts  []string
}

// runs reports whether h runs the application.
func (a Application) runs(h contracts.Host) bool {
	if slices.Contains(a.Hosts, h.Name) {
		return true
	}
	for _, g := range a.Groups {
		if slices.Contains(h.Groups, g) {
			return true
		}
	}
	if len(a.Labels) == 0 {
		return false
	}
	for k, v := range a.Labels {
		if h.Labels[k] != v {
			return false
		}
	}
	return true
}

var appNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// applications reads an environment's applications:
//
//	applications:
//	  web: {groups: [web]}
//	  api: {labels: {tier: api}, hosts: [prod-api-01]}
func (p *parser) applications(path string, n *yaml.Node) map[string]Application {
	entries, ok := p.mapping(path, n, 0)
	if !ok {
		return nil
	}
	out := make(map[string]Application, len(entries))
	for _, e := range entries {
		ap := join(path, e.key)
		if !appNamePattern.MatchString(e.key) {
			p.fail(ap, e.kn, "an application name must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
			continue
		}
		f, ok := p.fields(ap, e.val, "groups", "labels", "hosts")
		if !ok {
			continue
		}
		var app Application
		for i, g := range p.sequence(join(ap, "groups"), f["groups"].val) {
			gp := index(join(ap, "groups"), i)
			if name := p.scalar(gp, g); name != "" {
				if !contracts.ValidToken(name) {
					p.fail(gp, g, "%s", contracts.AsError(contracts.CheckToken(gp, name)).Message)
					continue
				}
				app.Groups = append(app.Groups, name)
			}
		}
		app.Labels = p.stringMap(join(ap, "labels"), f["labels"].val)
		for i, h := range p.sequence(join(ap, "hosts"), f["hosts"].val) {
			if name := p.scalar(index(join(ap, "hosts"), i), h); name != "" {
				app.Hosts = append(app.Hosts, name)
			}
		}
		if len(app.Groups)+len(app.Labels)+len(app.Hosts) == 0 {
			p.fail(ap, e.kn, "names no hosts: give groups, labels or hosts")
			continue
		}
		out[e.key] = app
	}
	return out
}

// checkApplicationHosts reports application hosts the environment lacks.
// It runs once the hosts are read, so that the order of keys does not matter.
func (p *parser) checkApplicationHosts(path string, env Environment, n *yaml.Node) {
	known := map[string]bool{}
	for _, h := range env.Hosts {
		known[strings.ToLower(h.Name)] = true
	}
	for _, name := range slices.Sorted(maps.Keys(env.Applications)) {
		for i, h := range env.Applications[name].Hosts {
			if !known[strings.ToLower(h)] {
				p.fail(index(join(join(path, "applications"), name)+".hosts", i), n, "unknown host %q in this environment", h)
			}
		}
	}
}

// resolveApplications fills each host's Apps.
func resolveApplications(e *Environment) {
	if len(e.Applications) == 0 {
		return
	}
	names := slices.Sorted(maps.Keys(e.Applications))
	for i := range e.Hosts {
		h := &e.Hosts[i]
		for _, name := range names {
			if e.Applications[name].runs(*h) {
				h.Apps = append(h.Apps, name)
			}
		}
	}
}
