package contracts

import "time"

// Environment is a named set of hosts with shared parameters.
type Environment struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params,omitempty"`
	Hosts  []Host            `json:"hosts"`
	// Procedures are the operator-defined ways to deploy in this
	// environment, by name; a request picks one with its procedure field.
	Procedures map[string]Procedure `json:"procedures,omitempty"`
	// AllowRequestCommands lets a request carry its own commands (an exec
	// driver). Off by default: whoever can send a request would otherwise
	// run any program on the executors.
	AllowRequestCommands bool `json:"allow_request_commands,omitempty"`
	// AllowRequestParams lets a request's own params apply, every name;
	// AllowedRequestParams lets only those named. With neither, a request
	// carrying params is refused: they reach the operators' templates
	// (procedures, checks) above the inventory's own values.
	AllowRequestParams   bool     `json:"allow_request_params,omitempty"`
	AllowedRequestParams []string `json:"allowed_request_params,omitempty"`
	// Checks are operator-defined checks by name: a request's
	// phases[].checks may name them like its own, and only here may a
	// command check come from when request commands are not allowed.
	Checks map[string]CheckSpec `json:"checks,omitempty"`
	// AppsDeclared says the inventory names which applications run on
	// which hosts (Host.Apps): a rollout of an app targets only its hosts.
	// Without it, every host runs every application.
	AppsDeclared bool `json:"apps_declared,omitempty"`
	// Lifecycle is the order of environments that applies to the queried
	// application, when it includes this one: a release goes to an
	// environment only after it completed in the one before.
	Lifecycle []string `json:"lifecycle,omitempty"`
	// OnBlocked is the environment's policy for requests that name none.
	OnBlocked OnBlocked `json:"on_blocked,omitempty"`
	// OnFreeze is the environment's freeze policy for requests that name
	// none.
	OnFreeze OnFreeze `json:"on_freeze,omitempty"`
	// HostsMore says, on a page of a targets answer, that hosts after the
	// last one of Hosts follow (ask again with TargetsQuery.HostsAfter).
	HostsMore bool `json:"hosts_more,omitempty"`
}

// Host is one deployment target as discovery knows it.
type Host struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Groups  []string          `json:"groups,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	// Pool is the executor pool that acts on the host; "" means DefaultPool.
	Pool string `json:"pool,omitempty"`
	// Driver is how the host is deployed when a request names no driver.
	Driver *DriverSpec `json:"driver,omitempty"`
	// Apps are the applications the host runs, when the environment
	// declares them (Environment.AppsDeclared).
	Apps []string `json:"apps,omitempty"`
	// Versions maps application to the version the host last ran successfully.
	Versions map[string]HostVersion `json:"versions,omitempty"`
	// Liveness is "online" or "offline" for a host with an agent, and ""
	// for one whose liveness is not known (no agent has announced it).
	Liveness string `json:"liveness,omitempty"`
	// LastSeen is when its agent was last heard from.
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

// HostVersion records which version of an application a host runs.
type HostVersion struct {
	Version   string    `json:"version"`
	Rollout   string    `json:"rollout,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Reported is the version the host's agent reports running, when it
	// reports one; Version is then "" if no rollout set one.
	Reported string `json:"reported,omitempty"`
	// Drift marks a host whose agent reports another version than the
	// last rollout set.
	Drift bool `json:"drift,omitempty"`
	// Unverified marks a version whose install succeeded but whose checks
	// failed: the host runs it, and it is not known to be healthy.
	Unverified bool `json:"unverified,omitempty"`
}

// TargetsQuery asks discovery for one environment's hosts.
type TargetsQuery struct {
	Environment string `json:"environment"`
	// App, when set, fills each host's Versions with that application only.
	App string `json:"app,omitempty"`
	// HostsMaxBytes, when set, asks for one page of hosts: those after
	// HostsAfter (by name) whose encoding fits in about this many bytes
	// (at least one), with Environment.HostsMore set when more follow. A
	// large environment's answer would not fit in one NATS message.
	HostsMaxBytes int    `json:"hosts_max_bytes,omitempty"`
	HostsAfter    string `json:"hosts_after,omitempty"`
}

// TargetsPageBytes is the page size the planner asks for: half the stock
// 1 MB max_payload, leaving room for the rest of the environment.
const TargetsPageBytes = 512 << 10

// InventoryQuery asks for the inventory, optionally one environment only.
type InventoryQuery struct {
	Environment string `json:"environment,omitempty"`
}

// Inventory is the answer to an inventory query.
type Inventory struct {
	Environments []Environment `json:"environments"`
}
