package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newPlanCmd(g *globals) *cobra.Command {
	var file, id string
	cmd := &cobra.Command{
		Use:   "plan -f SPEC",
		Short: "Preview a rollout: its steps with the hosts of each batch, checks, gates, calendar and estimated duration",
		Example: `  rollwave plan -f examples/canary.yaml
  rollwave plan -f spec.yaml -o json`,
		Long: `plan asks the planner what it would do with a spec (YAML or JSON; "-" reads
standard input), with no side effects: nothing is published and the id is
not taken. It shows the steps with the hosts of each batch, the checks and
gates, whether the calendar lets the rollout start now (and at start_at),
and an estimated duration from recent completed rollouts of the app in the
environment ("no history" when there are none). A spec the planner would
reject prints every reason and exits 1.

Examples:
  rollwave plan -f spec.yaml
  rollwave plan -f spec.yaml -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError(fmt.Errorf("-f/--file is required"))
			}
			if id != "" {
				if err := contracts.CheckToken("--id", id); err != nil {
					return usageError(err)
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			req, err := readSpec(cmd.InOrStdin(), file, id)
			if err != nil {
				return err
			}
			if req.RequestedBy == "" {
				req.RequestedBy = currentUser()
			}
			var pr contracts.PreviewReply
			raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/plan", nil, req, &pr)
			out := cmd.OutOrStdout()
			if g.json() && raw != nil {
				printRaw(out, raw)
			}
			if err != nil {
				if g.json() {
					return &exitError{code: exitFailed, err: err, quiet: true}
				}
				return err
			}
			if !g.json() {
				printPreview(out, pr, time.Now())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "rollout spec, YAML or JSON (- for standard input)")
	f.StringVar(&id, "id", "", "rollout id to preview under (default: the spec's)")
	return cmd
}

// printPreview shows a plan with its gates, checks, calendar and estimate.
func printPreview(w io.Writer, pr contracts.PreviewReply, now time.Time) {
	p := pr.Plan
	if p == nil {
		return
	}
	printPlan(w, p)
	var gates []string
	for _, ph := range p.Phases {
		if g := ph.Gate; g != nil {
			var where []string
			if g.Before {
				where = append(where, "before")
			}
			if g.EveryBatch {
				where = append(where, "after every batch")
			}
			if g.After {
				where = append(where, "after")
			}
			line := fmt.Sprintf("  %s: manual approval %s", ph.Name, strings.Join(where, ", "))
			if g.Timeout > 0 {
				outcome := g.OnTimeout
				if outcome == "" {
					outcome = contracts.GateReject
				}
				line += fmt.Sprintf("; %s after %s", outcome, g.Timeout.D())
			}
			gates = append(gates, line)
		}
	}
	fmt.Fprintln(w, "\nGates:")
	if len(gates) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, l := range gates {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "\nChecks:")
	if len(p.Checks) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Checks)) {
		fmt.Fprintf(w, "  %s: %s\n", name, describeCheck(p.Checks[name]))
	}
	fmt.Fprintln(w, "\nCalendar:")
	if len(pr.Calendar) == 0 {
		fmt.Fprintln(w, "  not asked")
	}
	for _, c := range pr.Calendar {
		fmt.Fprintf(w, "  %s (%s): %s\n", c.When, c.At.Local().Format(time.RFC3339), calendarText(c, now))
	}
	fmt.Fprint(w, "\nEstimate: ")
	switch e := pr.Estimate; {
	case e == nil:
		fmt.Fprintln(w, "not asked")
	case e.Samples == 0:
		fmt.Fprintf(w, "no history of %s in %s to go by (%d batches)\n", p.App, p.Environment, e.Batches)
	default:
		fmt.Fprintf(w, "about %s: %d batches at %s each, the mean of the last %d completed %s\n",
			humanDuration(e.Duration.D()), e.Batches, e.PerBatch.D().Round(time.Second), e.Samples, plural(e.Samples, "rollout", "rollouts"))
	}
}

func describeCheck(c contracts.CheckSpec) string {
	if c.HTTP != nil {
		s := "http " + c.HTTP.URL
		if c.HTTP.Status != 0 {
			s += fmt.Sprintf(" expects %d", c.HTTP.Status)
		}
		return s
	}
	// Other kinds as their JSON, which names the kind.
	b, err := json.Marshal(c)
	if err != nil {
		return "?"
	}
	return oneLine(string(b))
}

func calendarText(c contracts.PreviewCalendar, now time.Time) string {
	switch {
	case c.Unavailable != "":
		return "unknown: " + c.Unavailable
	case c.Allowed:
		return "open"
	}
	s := "blocked"
	if c.Window != nil {
		s += fmt.Sprintf(" by %s %s", c.Window.Kind, c.Window.ID)
		if c.Window.Reason != "" {
			s += fmt.Sprintf(" (%s)", c.Window.Reason)
		}
	} else if c.Reason != "" {
		s += ": " + c.Reason
	}
	if c.Until != nil {
		s += fmt.Sprintf(" until %s (in %s)", c.Until.Local().Format(time.RFC3339), humanDuration(c.Until.Sub(now)))
	}
	return s
}
