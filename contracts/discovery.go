package contracts

import "time"

// InventoryRollout is the rollout token of inventory events: they go to
// rollwave.events.<env>._inventory.<type>, in the EVENTS stream beside the
// rollouts of that environment. No valid rollout id starts with '_'.
const InventoryRollout = "_inventory"

// Inventory event types. Their data is an InventoryEvent.
const (
	// EventSourceFailed: a discovery source gave bad output (malformed,
	// too large, late, or a failing exit); its last good hosts are kept.
	EventSourceFailed EventType = "source_failed"
	EventHostAdded    EventType = "host_added"
	EventHostRemoved  EventType = "host_removed"
	EventHostChanged  EventType = "host_changed"
	// EventHostOffline: a host whose agent announced itself has not been
	// heard from for the offline timeout. EventHostOnline: heard again.
	EventHostOffline EventType = "host_offline"
	EventHostOnline  EventType = "host_online"
)

// InventoryEventTypes lists every inventory event type.
var InventoryEventTypes = []EventType{EventSourceFailed, EventHostAdded, EventHostRemoved, EventHostChanged,
	EventHostOffline, EventHostOnline}

// TypeAgentAnnouncement is the envelope type id of an agent announcement.
const TypeAgentAnnouncement = "io.rollwave.agent.announcement.v1"

// AgentAnnouncement is what a host agent publishes on
// AgentAnnounceSubject at start and then every Interval (its heartbeat).
// Discovery decodes it tolerantly: unknown fields are ignored, so newer
// agents can add to it.
type AgentAnnouncement struct {
	Host        string `json:"host"`
	Environment string `json:"environment"`
	// Address, Groups and Labels describe a host the inventory does not
	// list yet; for a listed host the inventory's own values win.
	Address string            `json:"address,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Versions maps application to the version the host reports running.
	Versions map[string]string `json:"versions,omitempty"`
	// Interval is the agent's heartbeat interval.
	Interval Duration `json:"interval,omitzero"`
	// Agent is the agent's own version.
	Agent string `json:"agent,omitempty"`
}

// Liveness of a host in the inventory.
const (
	// LivenessOnline: its agent was heard from within the offline timeout.
	LivenessOnline = "online"
	// LivenessOffline: its agent has not been heard from for that long.
	LivenessOffline = "offline"
)

// InventoryEventSubject is where discovery publishes an inventory event.
func InventoryEventSubject(env string, t EventType) string {
	return EventSubject(env, InventoryRollout, t)
}

// InventoryEventTypeID returns the envelope type id of an inventory event,
// as in "io.rollwave.inventory.host_added.v1".
func InventoryEventTypeID(t EventType) string { return "io.rollwave.inventory." + string(t) + ".v1" }

// InventoryEvent is the data of an inventory event.
type InventoryEvent struct {
	Environment string `json:"environment"`
	// Source names the source of a source_failed event.
	Source string `json:"source,omitempty"`
	// Error says what was wrong with the source's output.
	Error string `json:"error,omitempty"`
	// Host is the host added, removed or changed; on host_removed only
	// its name is set.
	Host *Host `json:"host,omitempty"`
}

// APIDiscoveryStatus answers with the state of every discovery source.
var APIDiscoveryStatus = APISubject("discovery", "status")

// DiscoveryStatusQuery asks for the sources' status.
type DiscoveryStatusQuery struct{}

// DiscoveryStatus is the answer to a status query.
type DiscoveryStatus struct {
	Sources []SourceStatus `json:"sources"`
}

// SourceStatus is the state of one discovery source.
type SourceStatus struct {
	Environment string `json:"environment"`
	// Source is the file or script; "" for an environment of the YAML
	// inventory itself.
	Source string `json:"source"`
	// Kind is "yaml", "script" or "ini".
	Kind        string     `json:"kind"`
	LastRun     *time.Time `json:"last_run,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// Hosts is how many hosts the last good output held.
	Hosts int `json:"hosts"`
	// Failures counts the runs that failed since the last good one.
	Failures int `json:"failures,omitempty"`
	// Error is the last failure, cleared by a good run.
	Error string `json:"error,omitempty"`
}

// APIDiscoveryHistory answers with the version history of hosts.
var APIDiscoveryHistory = APISubject("discovery", "history")

// HistoryQuery asks for the version history, newest first; empty fields
// match everything. Limit defaults to 100 and is at most 1000.
type HistoryQuery struct {
	Environment string `json:"environment,omitempty"`
	Host        string `json:"host,omitempty"`
	App         string `json:"app,omitempty"`
	Limit       int    `json:"limit,omitempty"`
}

// History is the answer to a history query.
type History struct {
	Entries []HistoryEntry `json:"entries"`
}

// HistoryEntry is one version a host was set to by a rollout.
type HistoryEntry struct {
	Environment string    `json:"environment"`
	Host        string    `json:"host"`
	App         string    `json:"app"`
	Version     string    `json:"version"`
	Rollout     string    `json:"rollout,omitempty"`
	At          time.Time `json:"at"`
}
