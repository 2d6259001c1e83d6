package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// deployed reports a queued request and, with --wait, follows it. A
// request naming several applications becomes one rollout per app, in
// order: each id is printed on its own line, and --wait follows them one
// after another (each with the --timeout), stopping at the first that
// does not complete.
func deployed(cmd *cobra.Command, g *globals, c *apiClient, req contracts.DeployRequest, rollout string, rollouts []string, duplicate bool, raw []byte, wait bool, limit time.Duration) error {
	out := cmd.OutOrStdout()
	ids := []string{rollout}
	if len(req.Apps) > 0 {
		ids = rollouts
	}
	switch {
	case g.json():
		printRaw(out, raw)
	case len(req.Apps) > 0 && len(ids) == 0:
		// The planner did not answer the gateway's claim: the request is
		// queued, but its order is not known here.
		fmt.Fprintf(out, "%s (queued; its rollouts are %s-<app>, in the order of their requires)\n", rollout, rollout)
	case duplicate:
		for _, id := range ids {
			fmt.Fprintf(out, "%s (already requested; nothing new was queued)\n", id)
		}
	default:
		for _, id := range ids {
			fmt.Fprintln(out, id)
		}
	}
	if !wait {
		return nil
	}
	if len(ids) == 0 {
		return fmt.Errorf("cannot --wait: the planner did not say which rollouts %s becomes; follow them with rollwave watch", rollout)
	}
	for _, id := range ids {
		if err := follow(cmd, g, c, id, limit); err != nil {
			return err
		}
	}
	return nil
}
