package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newCalendarCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Manage freeze windows: no rollout starts in an environment during one",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCalendarAddCmd(g), newCalendarListCmd(g), newCalendarRmCmd(g))
	return cmd
}

func newCalendarAddCmd(g *globals) *cobra.Command {
	var in contracts.WindowInput
	cmd := &cobra.Command{
		Use:   "add --env ENV --start TIME --end TIME",
		Short: "Add a freeze window",
		Long: `add adds a freeze window. --start and --end are RFC 3339 instants
(2026-12-24T00:00:00Z) or local times (2026-12-24T00:00) read in --tz.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for flag, v := range map[string]string{"--env": in.Environment, "--start": in.Start, "--end": in.End} {
				if v == "" {
					return usageError(fmt.Errorf("%s is required", flag))
				}
			}
			if in.CreatedBy == "" {
				in.CreatedBy = currentUser()
			}
			in.Kind = contracts.WindowFreeze
			return show(cmd, g, http.MethodPost, "/v1/calendar/windows", nil, in, func(out io.Writer, w contracts.Window) {
				fmt.Fprintf(out, "%s: %s freeze from %s to %s\n", w.ID, w.Environment, inZone(w.Start, w.TimeZone), inZone(w.End, w.TimeZone))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Environment, "env", "", "environment to freeze")
	f.StringVar(&in.Start, "start", "", "start of the window")
	f.StringVar(&in.End, "end", "", "end of the window")
	f.StringVar(&in.TimeZone, "tz", "", "IANA time zone of local times, such as Europe/Paris (default UTC)")
	f.StringVar(&in.Reason, "reason", "", "why, shown to whoever is blocked")
	return cmd
}

func newCalendarListCmd(g *globals) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List windows",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, http.MethodGet, "/v1/calendar/windows", envQuery(env), nil, printWindows)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only windows of this environment")
	return cmd
}

func newCalendarRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm WINDOW",
		Short: "Remove a window",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.call(cmd.Context(), http.MethodDelete, "/v1/calendar/windows/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			if !g.json() {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			}
			return nil
		},
	}
}

func newInventoryCmd(g *globals) *cobra.Command {
	var env, app string
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Show hosts by application: the versions they run, drift and offline hosts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, http.MethodGet, "/v1/inventory", envQuery(env), nil, printInventoryMatrix(app))
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().StringVar(&app, "app", "", "only this application's column")
	cmd.AddCommand(newHistoryCmd(g))
	return cmd
}
