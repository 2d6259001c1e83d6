package inventory

import (
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Lifecycles order environments: a release goes to an environment only
// after it completed in the one before (the planner checks it). The
// inventory's top-level `lifecycle` applies to every application;
// `app_lifecycles` gives an application its own order, and an empty list
// takes it out of any lifecycle.
//
//	lifecycle: [qa, staging, production]
//	app_lifecycles:
//	  billing: [staging, production]
//	  docs: []

// LifecycleFor returns the lifecycle of app if it includes env, else nil.
func (inv Inventory) LifecycleFor(app, env string) []string {
	order := inv.Lifecycle
	if own, ok := inv.AppLifecycles[app]; ok {
		order = own
	}
	for _, e := range order {
		if e == env {
			return order
		}
	}
	return nil
}

// lifecycles reads `lifecycle` and `app_lifecycles` once the environments
// are known, so that an unknown environment can be named with its line.
func (p *parser) lifecycles(inv *Inventory, f map[string]entry) {
	known := map[string]bool{}
	for _, e := range inv.Environments {
		known[e.Name] = true
	}
	if e, ok := f["lifecycle"]; ok {
		inv.Lifecycle = p.lifecycle("lifecycle", e.val, known)
	}
	e, ok := f["app_lifecycles"]
	if !ok {
		return
	}
	entries, ok := p.mapping("app_lifecycles", e.val, 0)
	if !ok {
		return
	}
	inv.AppLifecycles = make(map[string][]string, len(entries))
	for _, a := range entries {
		path := join("app_lifecycles", a.key)
		if !appNamePattern.MatchString(a.key) {
			p.fail(path, a.kn, "an application name must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
			continue
		}
		order := p.lifecycle(path, a.val, known)
		if order == nil {
			order = []string{}
		}
		inv.AppLifecycles[a.key] = order
	}
}

// lifecycle reads one ordered list of known, distinct environments.
func (p *parser) lifecycle(path string, n *yaml.Node, known map[string]bool) []string {
	var order []string
	seen := map[string]int{}
	for i, item := range p.sequence(path, n) {
		ip := index(path, i)
		name := p.scalar(ip, item)
		switch {
		case name == "":
			if item.Kind == yaml.ScalarNode && !isNull(item) {
				p.fail(ip, item, "must not be empty")
			}
		case !known[name]:
			p.fail(ip, item, "names environment %q, which the inventory does not define (environments: %s)", name, strings.Join(sortedNames(known), ", "))
		default:
			if j, dup := seen[name]; dup {
				p.fail(ip, item, "repeats environment %q (also %s)", name, index(path, j))
				continue
			}
			seen[name] = i
			order = append(order, name)
		}
	}
	return order
}

func sortedNames(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
