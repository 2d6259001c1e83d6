package discovery

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/discovery/internal/inventory"
)

// defaultOfflineAfter is how long a host's agent may stay silent before
// the host is offline.
const defaultOfflineAfter = 30 * time.Second

// agent is what discovery knows of one host agent.
type agent struct {
	ann      contracts.AgentAnnouncement
	lastSeen time.Time
	// online is the liveness last announced by an event.
	online bool
	// fresh marks an agent heard from for the first time since the
	// last round, whose host_online event is still due.
	fresh bool
}

func agentKey(env, host string) string { return env + "\x00" + strings.ToLower(host) }

// subscribeAgents listens to agent announcements. Every instance of
// discovery listens (no queue group): each keeps its own liveness view.
func (s *Service) subscribeAgents() (*nats.Subscription, error) {
	sub, err := s.deps.NC.Subscribe(contracts.AgentAnnounceWildcard(), func(m *nats.Msg) {
		if err := s.announce(m.Subject, m.Data); err != nil {
			s.log.Warn("agent announcement ignored", "subject", m.Subject, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to agent announcements: %w", err)
	}
	return sub, nil
}

// announce records a heartbeat. Decoding is tolerant (unknown fields are
// ignored), but the host must be one the inventory could hold.
func (s *Service) announce(subject string, data []byte) error {
	env, err := contracts.DecodeEnvelope(data)
	if err != nil {
		return err
	}
	if env.Type != contracts.TypeAgentAnnouncement {
		return fmt.Errorf("envelope type %q, want %s", env.Type, contracts.TypeAgentAnnouncement)
	}
	// Tolerant: a newer agent may send fields this discovery does not know.
	var a contracts.AgentAnnouncement
	if err := json.Unmarshal(env.Data, &a); err != nil {
		return fmt.Errorf("decode agent announcement %s: %w", env.ID, err)
	}
	if contracts.AgentAnnounceSubject(a.Environment) != subject {
		return fmt.Errorf("announcement for environment %q on subject %s", a.Environment, subject)
	}
	if err := contracts.CheckToken("environment", a.Environment); err != nil {
		return err
	}
	h := agentHost(a)
	if err := inventory.CheckHost(h); err != nil {
		return err
	}
	now := s.clock.Now()
	s.refMu.Lock()
	defer s.refMu.Unlock()
	if s.ref.agents == nil {
		s.ref.agents = map[string]*agent{}
	}
	k := agentKey(a.Environment, a.Host)
	ag := s.ref.agents[k]
	kick := ag == nil || !ag.online || !slices.Equal(ag.ann.Groups, a.Groups) || !maps.Equal(ag.ann.Labels, a.Labels) || ag.ann.Address != a.Address
	if ag == nil {
		ag = &agent{fresh: true}
		s.ref.agents[k] = ag
	}
	ag.ann, ag.lastSeen = a, now
	if kick {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// agentHost is the host an announcement describes; without an address
// the host name is dialled.
func agentHost(a contracts.AgentAnnouncement) contracts.Host {
	h := contracts.Host{Name: a.Host, Address: a.Address, Groups: slices.Clone(a.Groups), Labels: maps.Clone(a.Labels)}
	if h.Address == "" {
		h.Address = a.Host
	}
	slices.Sort(h.Groups)
	return h
}

// agentHosts returns, per environment, the announced hosts; compose adds
// those the environment does not list already.
func (r *refresher) agentHosts() map[string][]contracts.Host {
	out := map[string][]contracts.Host{}
	for _, k := range slices.Sorted(maps.Keys(r.agents)) {
		a := r.agents[k].ann
		out[a.Environment] = append(out[a.Environment], agentHost(a))
	}
	return out
}

// liveness decides, at now, which agents went offline or came back, and
// returns the events for those transitions.
func (s *Service) liveness(now time.Time) []invEvent {
	var out []invEvent
	for _, k := range slices.Sorted(maps.Keys(s.ref.agents)) {
		ag := s.ref.agents[k]
		online := now.Sub(ag.lastSeen) <= s.cfg.OfflineAfter
		if online == ag.online && !ag.fresh {
			continue
		}
		ag.online, ag.fresh = online, false
		h := agentHost(ag.ann)
		seen := ag.lastSeen
		h.LastSeen = &seen
		t := contracts.EventHostOnline
		h.Liveness = contracts.LivenessOnline
		if !online {
			t, h.Liveness = contracts.EventHostOffline, contracts.LivenessOffline
		}
		out = append(out, invEvent{ag.ann.Environment, t, contracts.InventoryEvent{Environment: ag.ann.Environment, Host: &h}})
	}
	return out
}

// nextOffline is when the next online agent goes offline if not heard.
func (r *refresher) nextOffline(after time.Duration) time.Time {
	var next time.Time
	for _, ag := range r.agents {
		if !ag.online {
			continue
		}
		if t := ag.lastSeen.Add(after + time.Millisecond); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// overlayLiveness marks the hosts of env that have an agent online or
// offline at now, with the time they were last heard from. The caller
// holds refMu.
func (s *Service) overlayLiveness(env *contracts.Environment, now time.Time) {
	for i := range env.Hosts {
		h := &env.Hosts[i]
		ag := s.ref.agents[agentKey(env.Name, h.Name)]
		if ag == nil {
			continue
		}
		seen := ag.lastSeen
		h.LastSeen = &seen
		h.Liveness = contracts.LivenessOffline
		if now.Sub(seen) <= s.cfg.OfflineAfter {
			h.Liveness = contracts.LivenessOnline
		}
	}
}

// withLiveness is overlayLiveness taking the lock.
func (s *Service) withLiveness(env *contracts.Environment) {
	now := s.clock.Now()
	s.refMu.Lock()
	defer s.refMu.Unlock()
	s.overlayLiveness(env, now)
}
