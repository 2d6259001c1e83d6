package discovery

import (
	"context"
	"fmt"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/discovery/internal/inventory"
)

// api is what the request/reply transport needs of the service.
type api interface {
	Targets(ctx context.Context, q contracts.TargetsQuery) (contracts.Environment, error)
	Inventory(ctx context.Context, q contracts.InventoryQuery) (contracts.Inventory, error)
	Status(ctx context.Context, q contracts.DiscoveryStatusQuery) (contracts.DiscoveryStatus, error)
	History(ctx context.Context, q contracts.HistoryQuery) (contracts.History, error)
}

// handlers adapts the api to NATS subjects through go-kit endpoints, each
// wrapped in mw.
func handlers(a api, mw endpoint.Middleware) []natsx.Handler {
	return []natsx.Handler{
		{Subject: contracts.APIDiscoveryTargets, Decode: natsx.DecodeJSONTolerant[contracts.TargetsQuery](), Endpoint: mw(natsx.Typed(a.Targets))},
		{Subject: contracts.APIDiscoveryInventory, Decode: natsx.DecodeJSON[contracts.InventoryQuery](), Endpoint: mw(natsx.Typed(a.Inventory))},
		{Subject: contracts.APIDiscoveryHistory, Decode: natsx.DecodeJSON[contracts.HistoryQuery](), Endpoint: mw(natsx.Typed(a.History))},
		{Subject: contracts.APIDiscoveryStatus, Decode: natsx.DecodeJSON[contracts.DiscoveryStatusQuery](), Endpoint: mw(natsx.Typed(a.Status))},
	}
}

// Targets returns one environment's hosts, sorted by name, with the
// versions of query.App filled in when it is set.
func (s *Service) Targets(ctx context.Context, q contracts.TargetsQuery) (contracts.Environment, error) {
	env, err := s.environment(q.Environment)
	if err != nil {
		return contracts.Environment{}, err
	}
	out := env.Contract()
	s.withLiveness(&out)
	out.Lifecycle = s.inv.Load().LifecycleFor(q.App, env.Name)
	if q.App == "" {
		if q.HostsMaxBytes > 0 {
			pageHosts(&out, q.HostsAfter, q.HostsMaxBytes)
		}
		return out, nil
	}
	vs, err := s.store.versions(ctx, env.Name, q.App)
	if err != nil {
		return contracts.Environment{}, err
	}
	fillVersions(&out, vs[env.Name])
	joinReported(&out, s.reportedVersions(env.Name), q.App)
	if q.HostsMaxBytes > 0 {
		pageHosts(&out, q.HostsAfter, q.HostsMaxBytes)
	}
	return out, nil
}

// Inventory returns every environment, or the one named, with every
// recorded version.
func (s *Service) Inventory(ctx context.Context, q contracts.InventoryQuery) (contracts.Inventory, error) {
	envs := s.inv.Load().Environments
	if q.Environment != "" {
		env, err := s.environment(q.Environment)
		if err != nil {
			return contracts.Inventory{}, err
		}
		envs = []inventory.Environment{env}
	}
	vs, err := s.store.versions(ctx, q.Environment, "")
	if err != nil {
		return contracts.Inventory{}, err
	}
	out := contracts.Inventory{Environments: make([]contracts.Environment, 0, len(envs))}
	for _, e := range envs {
		c := e.Contract()
		s.withLiveness(&c)
		fillVersions(&c, vs[e.Name])
		joinReported(&c, s.reportedVersions(e.Name), "")
		out.Environments = append(out.Environments, c)
	}
	return out, nil
}

func (s *Service) environment(name string) (inventory.Environment, error) {
	if name == "" {
		return inventory.Environment{}, contracts.Invalid("environment", "is required")
	}
	if err := contracts.CheckToken("environment", name); err != nil {
		return inventory.Environment{}, err
	}
	env, ok := s.inv.Load().Find(name)
	if !ok {
		return inventory.Environment{}, &contracts.Error{Code: contracts.CodeNotFound, Field: "environment",
			Message: fmt.Sprintf("no environment %q in the inventory", name)}
	}
	return env, nil
}

func fillVersions(env *contracts.Environment, vs hostVersions) {
	for i := range env.Hosts {
		if v := vs[env.Hosts[i].Name]; len(v) > 0 {
			env.Hosts[i].Versions = v
		}
	}
}
