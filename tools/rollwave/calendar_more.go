package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rollwave/rollwave/contracts"
)

// addWindowFlags adds the flags of the window kinds beyond a plain freeze.
func addWindowFlags(f *pflag.FlagSet, in *contracts.WindowInput) {
	f.StringVar((*string)(&in.Kind), "kind", "", "freeze (default), reservation or maintenance")
	f.StringVar(&in.RRule, "rrule", "", `RFC 5545 recurrence, such as "FREQ=WEEKLY;BYDAY=FR"; --start/--end are the first occurrence`)
	f.StringSliceVar(&in.ExDates, "exdate", nil, "an occurrence start to skip (repeatable)")
	f.StringVar(&in.Team, "team", "", "team a reservation is held for")
	f.StringVar(&in.Label, "label", "", "rollout label key=value a reservation is held for")
	f.BoolVar(&in.Force, "force", false, "add a reservation over conflicting ones (needs --force-reason)")
	f.StringVar(&in.ForceReason, "force-reason", "", "why conflicting reservations are overridden")
}

// splitEnvironments turns --env a,b or --env '*' into the input's forms.
func splitEnvironments(in *contracts.WindowInput) {
	if strings.Contains(in.Environment, ",") {
		in.Environments = strings.Split(in.Environment, ",")
		in.Environment = ""
	}
}

func windowEnvs(w contracts.Window) string {
	if w.Environment != "" {
		return w.Environment
	}
	return strings.Join(w.Environments, ",")
}

func recurrence(w contracts.Window) string {
	if w.RRule == "" {
		return ""
	}
	return ", repeating " + w.RRule
}

// spanQuery sets from and to, read as RFC 3339 or a UTC date.
func spanQuery(q url.Values, from, to string) error {
	if from == "" || to == "" {
		return usageError(fmt.Errorf("--from and --to go together"))
	}
	for name, v := range map[string]string{"from": from, "to": to} {
		t, err := parseWhen(v)
		if err != nil {
			return usageError(fmt.Errorf("--%s: %w", name, err))
		}
		q.Set(name, t.Format(time.RFC3339))
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 instant or a date YYYY-MM-DD", s)
}

func printOccurrences(w io.Writer, l contracts.WindowList) {
	if len(l.Occurrences) == 0 {
		fmt.Fprintln(w, "No occurrences.")
		return
	}
	byID := map[string]contracts.Window{}
	for _, win := range l.Windows {
		byID[win.ID] = win
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "WINDOW\tENVIRONMENT\tKIND\tSTART\tEND\tREASON")
	for _, o := range l.Occurrences {
		win := byID[o.WindowID]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.WindowID, windowEnvs(win), win.Kind,
			inZone(o.Start, win.TimeZone), inZone(o.End, win.TimeZone), orDash(oneLine(win.Reason)))
	}
	tw.Flush()
}

func newCalendarImportCmd(g *globals) *cobra.Command {
	var in contracts.CalendarImport
	var env string
	cmd := &cobra.Command{
		Use: "import FILE.ics --env ENV[,ENV...] [--kind freeze]",
		Example: `  rollwave calendar import holidays.ics --env production,staging
  rollwave calendar import team.ics --env staging --kind reservation --team payments`,
		Short: "Import the events of an iCalendar file as windows, all or none",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			in.ICS = string(b)
			if env != "" {
				in.Environments = strings.Split(env, ",")
			}
			if in.CreatedBy == "" {
				in.CreatedBy = currentUser()
			}
			return show(cmd, g, http.MethodPost, "/v1/calendar/import", nil, in, func(out io.Writer, l contracts.WindowList) {
				fmt.Fprintf(out, "imported %d windows from %s\n", len(l.Windows), args[0])
				printWindows(out, l)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&env, "env", "", `environments the events apply to ("*" for all; default: what the file says)`)
	f.StringVar((*string)(&in.Kind), "kind", "", "freeze (default), reservation or maintenance")
	f.StringVar(&in.Team, "team", "", "team reservations are held for")
	f.StringVar(&in.Label, "label", "", "label key=value reservations are held for")
	f.StringVar(&in.TimeZone, "tz", "", "zone of floating times and all-day dates when the file names none (default UTC)")
	f.BoolVar(&in.Force, "force", false, "import reservations over conflicting ones (needs --force-reason)")
	f.StringVar(&in.ForceReason, "force-reason", "", "why conflicting reservations are overridden")
	return cmd
}

func newCalendarExportCmd(g *globals) *cobra.Command {
	var env, file string
	cmd := &cobra.Command{
		Use: "export [--env ENV] [-f FILE.ics]",
		Example: `  rollwave calendar export -f rollwave.ics
  rollwave calendar export --env production`,
		Short: "Write the windows as an iCalendar file (recurring windows stay recurring)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if env != "" {
				q.Set("env", env)
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, "/v1/calendar.ics", q, nil, nil)
			if err != nil {
				return err
			}
			if file == "" || file == "-" {
				_, err = cmd.OutOrStdout().Write(raw)
				return err
			}
			return os.WriteFile(file, raw, 0o644)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only windows of this environment")
	cmd.Flags().StringVarP(&file, "file", "f", "", "file to write (default standard output)")
	return cmd
}

func newCalendarWeekCmd(g *globals) *cobra.Command {
	var env, start, zone string
	cmd := &cobra.Command{
		Use: "week [--env ENV] [--start YYYY-MM-DD] [--tz ZONE]",
		Example: `  rollwave calendar week
  rollwave calendar week --env production --start 2026-12-21 --tz Europe/Paris`,
		Short: "Show a week of windows as a grid: one row per environment, one column per 3 hours",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return usageError(fmt.Errorf("--tz: %w", err))
			}
			day := time.Now().In(loc)
			if start != "" {
				if day, err = time.ParseInLocation("2006-01-02", start, loc); err != nil {
					return usageError(fmt.Errorf("--start: %q is not a date YYYY-MM-DD", start))
				}
			}
			from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
			to := from.AddDate(0, 0, 7)
			q := envQuery(env)
			q.Set("from", from.UTC().Format(time.RFC3339))
			q.Set("to", to.UTC().Format(time.RFC3339))
			return show(cmd, g, http.MethodGet, "/v1/calendar/windows", q, nil, func(out io.Writer, l contracts.WindowList) {
				printWeek(out, l, from, loc)
			})
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only windows of this environment")
	cmd.Flags().StringVar(&start, "start", "", "first day (default today)")
	cmd.Flags().StringVar(&zone, "tz", "UTC", "zone the days are drawn in")
	return cmd
}

// weekSlot is the width of one grid cell.
const weekSlot = 3 * time.Hour

// printWeek draws seven days of 3-hour cells per environment: F freeze,
// R reservation, M maintenance, '.' nothing; a cell shows the strongest
// kind that touches it (freeze over reservation over maintenance).
func printWeek(w io.Writer, l contracts.WindowList, from time.Time, loc *time.Location) {
	byID := map[string]contracts.Window{}
	for _, win := range l.Windows {
		byID[win.ID] = win
	}
	rows := map[string][]byte{}
	cells := 7 * 24 / int(weekSlot/time.Hour)
	rank := map[byte]int{'.': 0, 'M': 1, 'R': 2, 'F': 3}
	for _, o := range l.Occurrences {
		win := byID[o.WindowID]
		mark := map[contracts.WindowKind]byte{contracts.WindowReservation: 'R', contracts.WindowMaintenance: 'M'}[win.Kind]
		if mark == 0 {
			mark = 'F'
		}
		for _, env := range strings.Split(windowEnvs(win), ",") {
			row, ok := rows[env]
			if !ok {
				row = []byte(strings.Repeat(".", cells))
				rows[env] = row
			}
			for i := range cells {
				cs := from.Add(time.Duration(i) * weekSlot)
				if o.Start.Before(cs.Add(weekSlot)) && o.End.After(cs) && rank[mark] > rank[row[i]] {
					row[i] = mark
				}
			}
		}
	}
	width := 0
	for env := range rows {
		width = max(width, len(env))
	}
	fmt.Fprintf(w, "%-*s", width+2, "")
	for d := range 7 {
		fmt.Fprintf(w, "%-9s", from.AddDate(0, 0, d).Format("Mon 02"))
	}
	fmt.Fprintln(w)
	envs := make([]string, 0, len(rows))
	for env := range rows {
		envs = append(envs, env)
	}
	slices.Sort(envs)
	if len(envs) == 0 {
		fmt.Fprintf(w, "No windows from %s to %s (%s).\n", from.Format("2006-01-02"), from.AddDate(0, 0, 7).Format("2006-01-02"), loc)
		return
	}
	for _, env := range envs {
		row := rows[env]
		fmt.Fprintf(w, "%-*s", width+2, env)
		for d := range 7 {
			fmt.Fprintf(w, "%s ", row[d*8:d*8+8])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "F freeze  R reservation  M maintenance  . open; one cell is 3 hours")
}
