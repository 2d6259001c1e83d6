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
		Use: "calendar",
		Example: `  rollwave calendar add --env production --start 2026-12-24T00:00:00Z --end 2026-12-27T00:00:00Z --reason christmas
  rollwave calendar week --env production
  rollwave calendar list -o json`,
		Short: "Manage calendar windows: freezes, reservations and maintenance windows",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCalendarAddCmd(g), newCalendarListCmd(g), newCalendarRmCmd(g),
		newCalendarImportCmd(g), newCalendarExportCmd(g), newCalendarWeekCmd(g))
	return cmd
}

func newCalendarAddCmd(g *globals) *cobra.Command {
	var in contracts.WindowInput
	cmd := &cobra.Command{
		Use: "add --env ENV --start TIME --end TIME",
		Example: `  rollwave calendar add --env production --start 2026-12-24T00:00:00Z --end 2026-12-27T00:00:00Z --reason "holiday freeze"
  rollwave calendar add --env production --start 2026-12-04T16:00 --end 2026-12-07T08:00 --tz Europe/Paris --rrule 'FREQ=WEEKLY;BYDAY=FR' --reason weekend
  rollwave calendar add --env staging --kind reservation --team payments --start 2026-12-08T09:00:00Z --end 2026-12-08T12:00:00Z`,
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
			if in.Kind == "" {
				in.Kind = contracts.WindowFreeze
			}
			splitEnvironments(&in)
			return show(cmd, g, http.MethodPost, "/v1/calendar/windows", nil, in, func(out io.Writer, w contracts.Window) {
				fmt.Fprintf(out, "%s: %s %s from %s to %s%s\n", w.ID, windowEnvs(w), w.Kind, inZone(w.Start, w.TimeZone), inZone(w.End, w.TimeZone),
					recurrence(w))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Environment, "env", "", "environment to freeze")
	f.StringVar(&in.Start, "start", "", "start of the window")
	f.StringVar(&in.End, "end", "", "end of the window")
	f.StringVar(&in.TimeZone, "tz", "", "IANA time zone of local times, such as Europe/Paris (default UTC)")
	f.StringVar(&in.Reason, "reason", "", "why, shown to whoever is blocked")
	addWindowFlags(f, &in)
	return cmd
}

func newCalendarListCmd(g *globals) *cobra.Command {
	var env, from, to string
	cmd := &cobra.Command{
		Use: "list [--env ENV] [--from TIME --to TIME]",
		Example: `  rollwave calendar list
  rollwave calendar list --env production --from 2026-12-01 --to 2026-12-31
  rollwave calendar list -o json`,
		Short: "List windows, or with --from and --to each occurrence",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := envQuery(env)
			if from == "" && to == "" {
				return show(cmd, g, http.MethodGet, "/v1/calendar/windows", q, nil, printWindows)
			}
			if err := spanQuery(q, from, to); err != nil {
				return err
			}
			return show(cmd, g, http.MethodGet, "/v1/calendar/windows", q, nil, printOccurrences)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only windows of this environment")
	cmd.Flags().StringVar(&from, "from", "", "expand occurrences from this instant (RFC 3339 or YYYY-MM-DD, UTC)")
	cmd.Flags().StringVar(&to, "to", "", "up to this instant (RFC 3339 or YYYY-MM-DD, UTC)")
	return cmd
}

func newCalendarRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm WINDOW",
		Example: `  rollwave calendar rm w-1a2b3c`,
		Short:   "Remove a window",
		Args:    usageArgs(cobra.ExactArgs(1)),
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
		Use: "inventory",
		Example: `  rollwave inventory
  rollwave inventory --env production --app web
  rollwave inventory -o json`,
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
