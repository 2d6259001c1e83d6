package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/haproxy"
	"github.com/rollwave/rollwave/pkg/render"
)

// sessionPoll is how often a drain hook reads a server's sessions.
const sessionPoll = 200 * time.Millisecond

// beforeHost runs the driver's before hooks of a deploy, in order; the
// first failure stops them and fails the host before the driver runs.
func (s *Service) beforeHost(ctx context.Context, a contracts.HostAction) error {
	if a.Driver.Hooks == nil {
		return nil
	}
	return s.runHooks(ctx, a, "before_host", a.Driver.Hooks.Before)
}

// afterHost runs the after hooks once the driver and the checks have
// succeeded.
func (s *Service) afterHost(ctx context.Context, a contracts.HostAction) error {
	if a.Driver.Hooks == nil {
		return nil
	}
	return s.runHooks(ctx, a, "after_host", a.Driver.Hooks.After)
}

func (s *Service) runHooks(ctx context.Context, a contracts.HostAction, list string, hooks []contracts.HostHook) error {
	for i, h := range hooks {
		field := fmt.Sprintf("%s[%d]", list, i)
		if h.HAProxy == nil {
			return fmt.Errorf("%s: must set exactly one of: haproxy", field)
		}
		if err := s.haproxyHook(ctx, a, h.HAProxy); err != nil {
			return fmt.Errorf("%s.haproxy: %w", field, err)
		}
	}
	return nil
}

// haproxyHook sets the weight, then the state, of the action's server,
// then waits for its sessions to end when asked to.
func (s *Service) haproxyHook(ctx context.Context, a contracts.HostAction, h *contracts.HAProxyHook) error {
	server, err := render.String("server", h.Server, render.DataOf(a))
	if err != nil {
		return err
	}
	c, err := haproxy.New(h.Socket)
	if err != nil {
		return err
	}
	if h.Weight != nil {
		if err := c.SetWeight(ctx, h.Backend, server, *h.Weight); err != nil {
			return err
		}
	}
	if h.State != "" {
		if err := c.SetState(ctx, h.Backend, server, haproxy.State(h.State)); err != nil {
			return err
		}
	}
	if wait := h.WaitSessions.D(); wait > 0 {
		if err := c.WaitSessions(ctx, s.clock, h.Backend, server, wait, sessionPoll); err != nil {
			return err
		}
	}
	s.log.Info("haproxy hook done", "host", a.Host.Name, "socket", c.String(), "server", h.Backend+"/"+server, "state", h.State)
	return nil
}
