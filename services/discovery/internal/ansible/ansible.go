// Package ansible reads Ansible inventories: the JSON that dynamic-inventory
// scripts print for --list and --host, and the INI file format. Both parse
// into one Inventory of groups, which Hosts flattens into Rollwave hosts:
// groups of groups become host groups, ansible_host becomes the address and
// every variable becomes a parameter. Parsing is strict and every problem
// names its group, host or line.
package ansible

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rollwave/rollwave/contracts"
)

// Implicit groups of every Ansible inventory. "all" holds every host and
// its vars are the lowest group vars; neither becomes a host group.
const (
	groupAll       = "all"
	groupUngrouped = "ungrouped"
)

// Inventory is an Ansible inventory as its source states it.
type Inventory struct {
	Groups map[string]*Group
	// HostVars are each host's own variables.
	HostVars map[string]map[string]string
	// HasMeta reports that a --list answer carried _meta.hostvars, so
	// --host need not be asked for each host.
	HasMeta bool
}

// Group is one Ansible group.
type Group struct {
	Hosts    []string
	Vars     map[string]string
	Children []string
}

func (inv *Inventory) group(name string) *Group {
	if inv.Groups == nil {
		inv.Groups = map[string]*Group{}
	}
	g := inv.Groups[name]
	if g == nil {
		g = &Group{}
		inv.Groups[name] = g
	}
	return g
}

func (inv *Inventory) addHost(group, host string) {
	g := inv.group(group)
	if !slices.Contains(g.Hosts, host) {
		g.Hosts = append(g.Hosts, host)
	}
	if inv.HostVars == nil {
		inv.HostVars = map[string]map[string]string{}
	}
	if _, ok := inv.HostVars[host]; !ok {
		inv.HostVars[host] = nil
	}
}

// HostNames returns every host of the inventory, sorted.
func (inv Inventory) HostNames() []string {
	seen := map[string]bool{}
	for _, g := range inv.Groups {
		for _, h := range g.Hosts {
			seen[h] = true
		}
	}
	for h := range inv.HostVars {
		seen[h] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// depths returns each group's depth below "all" (the longest chain of
// parents), and an error naming a cycle of children if there is one.
func (inv Inventory) depths() (map[string]int, error) {
	parents := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(inv.Groups)) {
		for _, c := range inv.Groups[name].Children {
			parents[c] = append(parents[c], name)
		}
	}
	depth := map[string]int{}
	const visiting = -1
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch d, ok := depth[name]; {
		case ok && d == visiting:
			// The walk goes from child to parent; name the cycle from
			// parent to child, as the inventory writes it.
			i := slices.Index(path, name)
			cycle := append(slices.Clone(path[i:]), name)
			slices.Reverse(cycle)
			return fmt.Errorf("groups form a cycle of children: %s", strings.Join(cycle, " -> "))
		case ok:
			return nil
		}
		depth[name] = visiting
		d := 0
		if name != groupAll {
			d = 1
		}
		for _, p := range parents[name] {
			if err := visit(p, append(path, name)); err != nil {
				return err
			}
			d = max(d, depth[p]+1)
		}
		depth[name] = d
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(inv.Groups)) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return depth, nil
}

// Hosts flattens the inventory into hosts sorted by name. A host's groups
// are the groups that list it and every ancestor of those through
// children, without "all" and "ungrouped". Its params are, from lowest to
// highest: the vars of "all", then of its groups from the shallowest to
// the deepest (ties by name, as Ansible orders them), then its own vars.
// The address is ansible_host, or the inventory name when that is unset.
// Names are checked here only as subject tokens (groups); the caller
// validates the hosts as it validates any other inventory.
func (inv Inventory) Hosts() ([]contracts.Host, error) {
	depth, err := inv.depths()
	if err != nil {
		return nil, err
	}
	member := map[string]map[string]bool{} // host -> groups
	var add func(host, group string)
	add = func(host, group string) {
		if member[host] == nil {
			member[host] = map[string]bool{}
		}
		if member[host][group] {
			return
		}
		member[host][group] = true
		for name, g := range inv.Groups {
			if slices.Contains(g.Children, group) {
				add(host, name)
			}
		}
	}
	for name, g := range inv.Groups {
		for _, h := range g.Hosts {
			add(h, name)
		}
	}
	var out []contracts.Host
	for _, name := range inv.HostNames() {
		groups := slices.Collect(maps.Keys(member[name]))
		slices.SortFunc(groups, func(a, b string) int {
			return cmp.Or(cmp.Compare(depth[a], depth[b]), cmp.Compare(a, b))
		})
		params := map[string]string{}
		if g := inv.Groups[groupAll]; g != nil {
			maps.Copy(params, g.Vars)
		}
		h := contracts.Host{Name: name}
		for _, gn := range groups {
			if gn == groupAll {
				continue
			}
			maps.Copy(params, inv.Groups[gn].Vars)
			if gn == groupUngrouped {
				continue
			}
			if !contracts.ValidToken(gn) {
				return nil, fmt.Errorf("group %q of host %q: a group name must be 1-128 letters, digits, '-' or '_', starting with a letter or digit", gn, name)
			}
			h.Groups = append(h.Groups, gn)
		}
		maps.Copy(params, inv.HostVars[name])
		h.Address = name
		if a := params["ansible_host"]; a != "" {
			h.Address = a
		}
		slices.Sort(h.Groups)
		if len(params) > 0 {
			h.Params = params
		}
		out = append(out, h)
	}
	return out, nil
}
