package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// printInventoryMatrix prints hosts by application: one row per host, one
// column per application (only app when it is set), with drift and
// offline hosts marked.
func printInventoryMatrix(app string) func(io.Writer, contracts.Inventory) {
	return func(w io.Writer, inv contracts.Inventory) {
		if len(inv.Environments) == 0 {
			fmt.Fprintln(w, "No environments.")
			return
		}
		var apps []string
		for _, env := range inv.Environments {
			for _, h := range env.Hosts {
				for a := range h.Versions {
					if (app == "" || a == app) && !slices.Contains(apps, a) {
						apps = append(apps, a)
					}
				}
			}
		}
		if app != "" && !slices.Contains(apps, app) {
			apps = append(apps, app)
		}
		slices.Sort(apps)
		tw := newTable(w)
		fmt.Fprintf(tw, "ENVIRONMENT\tHOST\tADDRESS\tGROUPS\tPOOL\tLIVENESS\t%s\n", strings.ToUpper(strings.Join(apps, "\t")))
		drift, offline := 0, 0
		for _, env := range inv.Environments {
			if len(env.Hosts) == 0 {
				fmt.Fprintf(tw, "%s\t(no hosts)\t\t\t\t\t\n", env.Name)
			}
			for _, h := range env.Hosts {
				pool := h.Pool
				if pool == "" {
					pool = contracts.DefaultPool
				}
				live := orDash(h.Liveness)
				if h.Liveness == contracts.LivenessOffline {
					live = "OFFLINE"
					offline++
				}
				cells := make([]string, len(apps))
				for i, a := range apps {
					v, ok := h.Versions[a]
					switch {
					case !ok:
						cells[i] = "-"
					case v.Drift:
						cells[i] = fmt.Sprintf("%s DRIFT(reports %s)", v.Version, v.Reported)
						drift++
					case v.Version == "" && v.Reported != "":
						cells[i] = fmt.Sprintf("?(reports %s)", v.Reported)
					case v.Unverified:
						cells[i] = v.Version + " UNVERIFIED(check failed)"
					default:
						cells[i] = v.Version
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", env.Name, h.Name, orDash(h.Address),
					orDash(strings.Join(h.Groups, ",")), pool, live, strings.Join(cells, "\t"))
			}
		}
		tw.Flush()
		if drift+offline > 0 {
			fmt.Fprintf(w, "\n%d drifted, %d offline\n", drift, offline)
		}
	}
}

func newHistoryCmd(g *globals) *cobra.Command {
	var env, host, app string
	var limit int
	cmd := &cobra.Command{
		Use: "history",
		Example: `  rollwave inventory history --env production --app web
  rollwave inventory history --host prod-web-01 --limit 10`,
		Short: "Show the versions rollouts set on hosts, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := envQuery(env)
			if host != "" {
				q.Set("host", host)
			}
			if app != "" {
				q.Set("app", app)
			}
			if limit != 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			return show(cmd, g, http.MethodGet, "/v1/inventory/history", q, nil, printHistory)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().StringVar(&host, "host", "", "only this host")
	cmd.Flags().StringVar(&app, "app", "", "only this application")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many entries (default 100)")
	return cmd
}

func printHistory(w io.Writer, h contracts.History) {
	if len(h.Entries) == 0 {
		fmt.Fprintln(w, "No history.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "TIME\tENVIRONMENT\tHOST\tAPP\tVERSION\tROLLOUT")
	for _, e := range h.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Environment, e.Host, e.App, e.Version, orDash(e.Rollout))
	}
	tw.Flush()
}
