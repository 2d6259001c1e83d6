package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "get ROLLOUT",
		Example: `  rollwave get r-42
  rollwave get r-42 -o yaml`,
		Short: "Show a rollout with its phases and hosts",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			return show(cmd, g, http.MethodGet, "/v1/rollouts/"+url.PathEscape(args[0]), nil, nil, func(w io.Writer, v contracts.RolloutView) {
				printRollout(w, painter(useColor(w)), v)
			})
		},
	}
}

func newListCmd(g *globals) *cobra.Command {
	var env, state string
	var limit int
	cmd := &cobra.Command{
		Use: "list",
		Example: `  rollwave list
  rollwave list --env production --state paused
  rollwave list --limit 20 -o json`,
		Short: "List rollouts, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := envQuery(env)
			if state != "" {
				q.Set("state", state)
			}
			if limit != 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			return show(cmd, g, http.MethodGet, "/v1/rollouts", q, nil, func(w io.Writer, l contracts.RolloutList) {
				printRolloutList(w, painter(useColor(w)), l)
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only rollouts of this environment")
	cmd.Flags().StringVar(&state, "state", "", "only rollouts in this state (queued, running, paused, completed, failed, aborted, ...)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many rollouts (default: the scheduler's)")
	return cmd
}

// newControlCmd builds pause, resume, abort and retry.
func newControlCmd(g *globals, verb, short string) *cobra.Command {
	var reason, actor, host string
	cmd := &cobra.Command{
		Use:     verb + " ROLLOUT",
		Short:   short,
		Example: "  rollwave " + verb + " r-42\n  rollwave " + verb + " r-42 --reason \"error rate up\" --actor alice -o json",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			return control(cmd, g, args[0], verb, contracts.ControlCommand{Actor: actor, Reason: reason, Host: host})
		},
	}
	if verb == string(contracts.VerbRetry) {
		cmd.Flags().StringVar(&host, "host", "", "run only this failed host again (default: every failed host)")
		cmd.Example += "\n  rollwave retry r-42 --host web-07 --reason \"disk replaced\""
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the rollout's events")
	cmd.Flags().StringVar(&actor, "actor", currentUser(), "who, recorded in the rollout's events")
	return cmd
}

// control sends a verb to a rollout and prints the rollout's state after it.
func control(cmd *cobra.Command, g *globals, rollout, verb string, body contracts.ControlCommand) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var s contracts.RolloutSummary
	raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/rollouts/"+url.PathEscape(rollout)+"/"+verb, nil, body, &s)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if g.json() {
		printRaw(out, raw)
		return nil
	}
	p := painter(useColor(out))
	fmt.Fprintf(out, "%s: %s (%s@%s in %s, hosts %s)\n", s.Rollout, p.state(string(s.State)), s.App, s.Version, s.Environment, countsShort(s.Counts))
	return nil
}
