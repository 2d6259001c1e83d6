// Package inventory reads the static YAML inventory that discovery serves:
// environments and their hosts, with environment defaults resolved into
// every host. Parsing is strict: unknown keys are rejected and every problem
// is reported with the path of the field and its YAML line.
package inventory

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// Inventory is a parsed, validated inventory.
type Inventory struct {
	Environments []Environment
	// Lifecycle and AppLifecycles order environments (lifecycle.go).
	Lifecycle     []string
	AppLifecycles map[string][]string
}

// Environment is one environment of the inventory. Position and the
// defaults are kept here because contracts.Environment has no place for
// them: the defaults are already resolved into each host.
type Environment struct {
	Name string
	// Position is the lifecycle position (qa 1, staging 2, production 3);
	// 0 means the environment takes no part in a lifecycle.
	Position int
	Params   map[string]string
	// Pool and Driver are the defaults of the environment's hosts.
	Pool   string
	Driver *contracts.DriverSpec
	// Hosts are sorted by name, with defaults resolved.
	Hosts []contracts.Host
	// Procedures and AllowRequestCommands say how requests may deploy.
	Procedures           map[string]contracts.Procedure
	AllowRequestCommands bool
	// AllowRequestParams and AllowedRequestParams say which of a
	// request's own params apply (params.go).
	AllowRequestParams   bool
	AllowedRequestParams []string
	// Checks are operator-defined checks that requests name.
	Checks map[string]contracts.CheckSpec
	// Applications, when declared, say which hosts run which application;
	// each host's Apps is resolved from them.
	Applications map[string]Application
	// Sources add hosts found by discovery plugins (see sources.go).
	Sources []Source
	// OnBlocked and OnFreeze are the calendar policies of requests that
	// name none.
	OnBlocked contracts.OnBlocked
	OnFreeze  contracts.OnFreeze
}

// Find returns the environment with the given name.
func (inv Inventory) Find(name string) (Environment, bool) {
	for _, e := range inv.Environments {
		if e.Name == name {
			return e, true
		}
	}
	return Environment{}, false
}

// Contract returns the environment as the wire contract carries it. The
// hosts are copies, so a caller may fill their Versions freely; maps that
// the caller is not expected to change are shared.
func (e Environment) Contract() contracts.Environment {
	out := contracts.Environment{Name: e.Name, Params: e.Params, Hosts: make([]contracts.Host, len(e.Hosts)),
		Procedures: e.Procedures, AllowRequestCommands: e.AllowRequestCommands, AppsDeclared: e.Applications != nil,
		Checks: e.Checks, AllowRequestParams: e.AllowRequestParams, AllowedRequestParams: e.AllowedRequestParams}
	copy(out.Hosts, e.Hosts)
	out.OnBlocked, out.OnFreeze = e.OnBlocked, e.OnFreeze
	return out
}

// Load reads and parses the inventory file at path.
func Load(path string) (Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Inventory{}, fmt.Errorf("read inventory: %w", err)
	}
	inv, err := Parse(b)
	if err != nil {
		return Inventory{}, fmt.Errorf("inventory %s: %w", path, err)
	}
	return inv, nil
}

// resolve fills each host with its environment's defaults: pool and driver
// when the host names none, and environment params under the host's own.
func resolve(e *Environment) {
	for i := range e.Hosts {
		h := &e.Hosts[i]
		if h.Pool == "" {
			h.Pool = e.Pool
		}
		if h.Pool == "" {
			h.Pool = contracts.DefaultPool
		}
		if h.Driver == nil && e.Driver != nil {
			d := *e.Driver
			h.Driver = &d
		}
		if len(e.Params) > 0 {
			params := maps.Clone(e.Params)
			maps.Copy(params, h.Params)
			h.Params = params
		}
	}
	slices.SortFunc(e.Hosts, func(a, b contracts.Host) int { return cmp.Compare(a.Name, b.Name) })
	resolveApplications(e)
}
