package haproxy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Switch sends a backend's traffic to one set of servers (blue-green): the
// servers of sets[target] become ready first, then the servers of every
// other set go to off (Drain, so their open requests finish, or Maint).
// Enabling before disabling means the backend never lacks a server. With
// weight > 0, the target's servers also get that weight and the others 0.
func (c *Client) Switch(ctx context.Context, backend string, sets map[string][]string, target string, off State, weight int) error {
	if err := CheckName("backend", backend); err != nil {
		return err
	}
	on, ok := sets[target]
	if !ok || len(on) == 0 {
		return fmt.Errorf("haproxy switch to %q: no such set (the sets are %s)", target, strings.Join(slices.Sorted(maps.Keys(sets)), ", "))
	}
	if off != Drain && off != Maint {
		return fmt.Errorf("haproxy switch: the other sets go to drain or maint, not %q", off)
	}
	for _, s := range on {
		if weight > 0 {
			if err := c.SetWeight(ctx, backend, s, weight); err != nil {
				return err
			}
		}
		if err := c.SetState(ctx, backend, s, Ready); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		if name == target {
			continue
		}
		for _, s := range sets[name] {
			if err := c.SetState(ctx, backend, s, off); err != nil {
				return err
			}
			if weight > 0 {
				if err := c.SetWeight(ctx, backend, s, 0); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
