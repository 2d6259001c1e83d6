package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newPromoteCmd(g *globals) *cobra.Command {
	var to, reason, id string
	var override, wait bool
	var limit time.Duration
	cmd := &cobra.Command{
		Use:   "promote APP VERSION --to ENV",
		Short: "Deploy a release to another environment with the spec of its last completed rollout",
		Example: `  rollwave promote web 2.4.1 --to production --wait
  rollwave promote web 2.4.2 --to production --override-lifecycle --reason "hotfix for incident 4711"`,
		Long: `promote reuses the spec of the last completed rollout of APP@VERSION
(phases, batches, checks, procedure) for the environment --to, with that
environment's hosts, and requests the rollout. Hand-picked hosts are kept:
a host the target environment does not have is refused, naming the phase,
so phases meant for promotion should pick hosts with a selector.

The lifecycle applies as to any request: if the release has not completed
in the environment before --to, the promotion is refused (code lifecycle)
unless --override-lifecycle is given with a --reason, which is recorded in
the plan and the planned event.

Examples:
  rollwave promote web 2.4.1 --to production
  rollwave promote web 2.4.1 --to production --override-lifecycle --reason "hotfix for INC-42"
  rollwave promote web 2.4.1 --to staging --wait`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError(fmt.Errorf("--to is required"))
			}
			if override && reason == "" {
				return usageError(fmt.Errorf("--override-lifecycle needs a --reason, which is recorded with the rollout"))
			}
			if limit < 0 || (limit > 0 && !wait) {
				return usageError(fmt.Errorf("--timeout needs --wait and a positive duration, got %s", limit))
			}
			p := contracts.PromoteRequest{App: args[0], Version: args[1], To: to, ID: id, Reason: reason, RequestedBy: currentUser()}
			if override {
				p.Override = &contracts.Override{Lifecycle: true, Reason: reason}
			}
			check := p
			if check.ID == "" {
				check.ID = "r-check"
			}
			if err := check.Validate(); err != nil {
				return usageError(err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var rc struct {
				Rollout         string `json:"rollout"`
				Duplicate       bool   `json:"duplicate"`
				From            string `json:"from"`
				FromEnvironment string `json:"from_environment"`
			}
			raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/promote", nil, p, &rc)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case g.json():
				printRaw(out, raw)
			case rc.Duplicate:
				fmt.Fprintf(out, "%s (already requested; nothing new was queued)\n", rc.Rollout)
			default:
				fmt.Fprintf(out, "%s (spec of %s in %s)\n", rc.Rollout, rc.From, rc.FromEnvironment)
			}
			if !wait {
				return nil
			}
			return follow(cmd, g, c, rc.Rollout, limit)
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "target environment (required)")
	f.StringVar(&reason, "reason", "", "why: the rollout's reason, and the override's with --override-lifecycle")
	f.BoolVar(&override, "override-lifecycle", false, "deploy even if the release has not completed in the environment before (needs --reason)")
	f.StringVar(&id, "id", "", "rollout id (default: a new one)")
	f.BoolVar(&wait, "wait", false, "follow the rollout until it settles")
	f.DurationVar(&limit, "timeout", 0, "with --wait: give up after this long (exit 4); 0 waits until the rollout settles")
	_ = cmd.RegisterFlagCompletionFunc("to", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return complete(cmd, g, environments)
	})
	return cmd
}
