package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newRolloutHistoryCmd(g *globals) *cobra.Command {
	var app, env string
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past rollouts, newest first: who started them, what they deployed and how they ended",
		Example: `  rollwave history
  rollwave history --app web --env production --limit 20
  rollwave history --app web -o json`,
		Long: `history lists the rollouts the planner has planned, newest first, with who
requested them, the version and strategy, how they ended (state and reason),
and when they started and ended. A lifecycle override is shown with its
reason. Versions on hosts are in "rollwave inventory history".

Examples:
  rollwave history
  rollwave history --app web --env production --limit 10
  rollwave history -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 || limit > contracts.MaxHistoryLimit {
				return usageError(fmt.Errorf("--limit must be between 1 and %d, got %d", contracts.MaxHistoryLimit, limit))
			}
			q := url.Values{}
			if app != "" {
				q.Set("app", app)
			}
			if env != "" {
				q.Set("environment", env)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			return show(cmd, g, http.MethodGet, "/v1/history", q, nil, func(w io.Writer, h contracts.RolloutHistory) {
				printRolloutHistory(w, h, time.Now())
			})
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "only this application")
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("at most this many rollouts (default %d)", contracts.DefaultHistoryLimit))
	return cmd
}

func printRolloutHistory(w io.Writer, h contracts.RolloutHistory, now time.Time) {
	if len(h.Rollouts) == 0 {
		fmt.Fprintln(w, "No rollouts.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ROLLOUT\tAPP\tVERSION\tENVIRONMENT\tSTRATEGY\tBY\tSTATE\tSTARTED\tENDED\tREASON")
	for _, r := range h.Rollouts {
		reason := r.EndReason
		if r.LifecycleOverride != "" {
			if reason != "" {
				reason += "; "
			}
			reason += "lifecycle overridden: " + r.LifecycleOverride
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Rollout, r.App, r.Version, r.Environment,
			orDash(string(r.Strategy)), orDash(r.RequestedBy), r.State, ago(r.StartedAt, now), ago(r.EndedAt, now), orDash(oneLine(reason)))
	}
	tw.Flush()
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return humanDuration(now.Sub(*t)) + " ago"
}
