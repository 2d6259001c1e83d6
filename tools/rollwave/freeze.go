package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// freezeResult is what freeze --all reports with -o json.
type freezeResult struct {
	Stop           contracts.LineStop `json:"stop"`
	Paused         []string           `json:"paused"`
	StillRunning   []string           `json:"still_running,omitempty"`
	ElapsedSeconds float64            `json:"elapsed_seconds"`
}

func newFreezeCmd(g *globals) *cobra.Command {
	var all bool
	var reason string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:     "freeze --all -m REASON",
		Short:   "Stop the line: halt new batches of every rollout in every environment",
		Example: `  rollwave freeze --all -m "incident 4711: stop every rollout"`,
		Long: `freeze --all stops the line in every environment, from now until
rollwave unfreeze --all: no rollout starts, and running rollouts stop at
their next batch boundary (the actions in flight finish). It then shows how
long it took until the last running rollout was paused. The stop is a key
that every scheduler watches, written by the gateway itself, so it works
while the calendar service is down. To plan a stop ahead, add a window of
kind stop with rollwave calendar add.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return usageError(fmt.Errorf("--all is required (to freeze one environment, use rollwave calendar add)"))
			}
			if strings.TrimSpace(reason) == "" {
				return usageError(fmt.Errorf("-m is required: say why the line stops"))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			began := time.Now()
			running, err := runningRollouts(ctx, c)
			if err != nil {
				return err
			}
			var ls contracts.LineStop
			in := contracts.LineStopInput{Reason: reason, CreatedBy: currentUser()}
			if _, err := c.call(ctx, http.MethodPut, "/v1/stop", nil, in, &ls); err != nil {
				return err
			}
			var bar io.Writer
			if !g.json() && isTerminal(cmd.ErrOrStderr()) {
				bar = cmd.ErrOrStderr()
			}
			res, err := waitPaused(ctx, c, running, began, wait, bar)
			if err != nil {
				return err
			}
			res.Stop = ls
			if g.json() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "the line is stopped in every environment since %s: %s\n", ls.Since.UTC().Format(time.RFC3339), ls.Reason)
			switch {
			case len(res.StillRunning) > 0:
				fmt.Fprintf(out, "%d of %d running rollouts paused in %.2fs; still running after %s: %s\n", len(res.Paused),
					len(running), res.ElapsedSeconds, wait, strings.Join(res.StillRunning, ", "))
				return &exitError{code: exitFailed, err: fmt.Errorf("%d rollouts still running", len(res.StillRunning)), quiet: true}
			case len(running) == 0:
				fmt.Fprintln(out, "no rollout was running")
			default:
				fmt.Fprintf(out, "%s paused in %.2fs\n", plural(len(running), "1 running rollout", strconv.Itoa(len(running))+" running rollouts"), res.ElapsedSeconds)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "every environment")
	f.StringVarP(&reason, "message", "m", "", "why the line stops, shown to whoever is held")
	f.DurationVar(&wait, "wait", 30*time.Second, "how long to wait for running rollouts to pause")
	return cmd
}

func newUnfreezeCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "unfreeze --all",
		Short:   "Release the line: lift the stop of freeze --all and the stop windows in force now",
		Example: `  rollwave unfreeze --all`,
		Long: `unfreeze --all lifts the stop of rollwave freeze --all and removes every
one-off stop window of the calendar in force now; the rollouts the stop
paused resume by themselves, and queued rollouts start. Stops planned for
later, and recurring ones, are left: remove them with rollwave calendar rm.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return usageError(fmt.Errorf("--all is required"))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.call(cmd.Context(), http.MethodDelete, "/v1/stop", nil, nil, nil); err != nil {
				return err
			}
			var l contracts.WindowList
			if _, err := c.call(cmd.Context(), http.MethodGet, "/v1/calendar/windows", nil, nil, &l); err != nil {
				return fmt.Errorf("the line stop is lifted, but the calendar's stop windows could not be read: %w", err)
			}
			now := time.Now()
			var removed []string
			for _, w := range l.Windows {
				if w.Kind != contracts.WindowStop || w.RRule != "" || w.Start.After(now) || !w.End.After(now) {
					continue
				}
				if _, err := c.call(cmd.Context(), http.MethodDelete, "/v1/calendar/windows/"+url.PathEscape(w.ID), nil, nil, nil); err != nil {
					return fmt.Errorf("remove stop %s: %w", w.ID, err)
				}
				removed = append(removed, w.ID)
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), map[string][]string{"removed_windows": append([]string{}, removed...)})
			}
			if len(removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "the line is released")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the line is released; removed the stop windows %s\n", strings.Join(removed, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every environment")
	return cmd
}

// runningRollouts lists the ids of running rollouts, in every environment.
func runningRollouts(ctx context.Context, c *apiClient) ([]string, error) {
	q := url.Values{"state": {string(contracts.StateRunning)}, "limit": {"1000"}}
	var l contracts.RolloutList
	if _, err := c.call(ctx, http.MethodGet, "/v1/rollouts", q, nil, &l); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(l.Rollouts))
	for _, r := range l.Rollouts {
		ids = append(ids, r.Rollout)
	}
	slices.Sort(ids)
	return ids, nil
}

// waitPaused polls until none of the rollouts is running any more (paused,
// or ended), or wait has passed, drawing a bar on bar when it is set. The
// elapsed time is from began to the poll that saw the last one stop.
func waitPaused(ctx context.Context, c *apiClient, ids []string, began time.Time, wait time.Duration, bar io.Writer) (freezeResult, error) {
	res := freezeResult{Paused: []string{}}
	deadline := time.Now().Add(wait)
	for {
		now, err := runningRollouts(ctx, c)
		if err != nil {
			return res, err
		}
		res.Paused, res.StillRunning = res.Paused[:0], nil
		for _, id := range ids {
			if _, still := slices.BinarySearch(now, id); still {
				res.StillRunning = append(res.StillRunning, id)
			} else {
				res.Paused = append(res.Paused, id)
			}
		}
		res.ElapsedSeconds = time.Since(began).Seconds()
		if bar != nil {
			fmt.Fprintf(bar, "\r%s %d/%d paused  %.2fs", progressBar(len(res.Paused), len(ids), 24), len(res.Paused), len(ids), res.ElapsedSeconds)
		}
		if len(res.StillRunning) == 0 || time.Now().After(deadline) {
			if bar != nil {
				fmt.Fprintln(bar)
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// progressBar draws done of total in width cells.
func progressBar(done, total, width int) string {
	filled := width
	if total > 0 {
		filled = done * width / total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat("-", width-filled) + "]"
}

// printJSON writes v as one JSON document, like an API answer.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	printRaw(w, b)
	return nil
}
