package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/rollwave/rollwave/contracts"
)

func newWatchCmd(g *globals) *cobra.Command {
	var limit time.Duration
	cmd := &cobra.Command{
		Use:   "watch ROLLOUT",
		Short: "Follow a rollout from its first event until it ends",
		Long: `watch replays a rollout's events from the beginning and follows it live:
progress bars per phase on a terminal, one line per event otherwise (or with
NO_COLOR set), raw event envelopes with -o json. The exit status says how
the rollout settled:
` + exitCodesHelp + ``,
		Example: `  rollwave watch r-42
  rollwave watch r-42 --timeout 30m -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			if limit < 0 {
				return usageError(fmt.Errorf("--timeout must not be negative, got %s", limit))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			return follow(cmd, g, c, args[0], limit)
		},
	}
	cmd.Flags().DurationVar(&limit, "timeout", 0, "give up waiting after this long (exit 4); 0 waits until the rollout settles")
	return cmd
}

// exitCodesHelp documents the exit status of a command that follows a rollout.
const exitCodesHelp = `  0  completed
  1  failed, aborted, rejected or rolled back (or an error)
  2  bad command line
  3  paused: it waits for an operator to resume or abort it
  4  --timeout ran out before the rollout settled`

// progress shows a rollout's events as they arrive.
type progress interface {
	event(raw sseEvent, env contracts.Envelope, ev contracts.Event)
	// done ends the display.
	done()
}

// reconnects bounds how often follow reconnects after a stream broke.
const reconnects = 5

// follow streams a rollout's events from its first one until it reaches a
// terminal state, reconnecting after the last seen event if the stream
// breaks. The outcome decides the exit status.
//
// A paused rollout settles the wait too (exit 3): it needs a person, and a CI
// job must not hang on it. Because the stream replays history, a paused event
// only counts once the rollout's current state confirms it. limit, when
// positive, bounds the whole wait (exit 4).
func follow(cmd *cobra.Command, g *globals, c *apiClient, rollout string, limit time.Duration) error {
	ctx := cmd.Context()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	out := cmd.OutOrStdout()
	var show progress
	switch {
	case g.json():
		show = rawProgress{w: out}
	case useColor(out):
		show = newBarProgress(ctx, out)
	default:
		show = &lineProgress{w: out, p: painter(false)}
	}
	var final *contracts.Event
	last := uint64(0)
	failures := 0
	for {
		q := url.Values{"rollout": {rollout}, "since": {strconv.FormatUint(last, 10)}}
		err := c.events(ctx, q, func(e sseEvent) (bool, error) {
			failures = 0
			if n, err := strconv.ParseUint(e.ID, 10, 64); err == nil {
				last = n
			}
			env, ev, err := decodeEvent(e.Data)
			if err != nil {
				return false, nil // not an event this CLI understands; keep going
			}
			show.event(e, env, ev)
			if ev.State.Terminal() {
				final = &ev
				return true, nil
			}
			if ev.State == contracts.StatePaused {
				settled, err := stillPaused(ctx, c, rollout)
				if err != nil {
					return true, err
				}
				if settled {
					final = &ev
					return true, nil
				}
			}
			return false, nil
		})
		if final != nil || ctx.Err() != nil {
			break
		}
		var ae *apiError
		if errors.As(err, &ae) {
			show.done()
			return err
		}
		failures++
		if failures > reconnects {
			show.done()
			if err == nil {
				err = errors.New("the event stream kept closing")
			}
			return fmt.Errorf("following %s: %w", rollout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(failures) * time.Second):
		}
	}
	show.done()
	if final == nil {
		if limit > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && cmd.Context().Err() == nil {
			return &exitError{code: exitTimedOut, err: fmt.Errorf("rollout %s had not settled within --timeout %s", rollout, limit)}
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("stopped following %s before it ended", rollout)}
	}
	if final.State == contracts.StateCompleted {
		return nil
	}
	code := exitFailed
	msg := fmt.Sprintf("rollout %s %s", rollout, final.State)
	if final.State == contracts.StatePaused {
		code = exitSettled
		msg += " and waits for an operator (resume or abort it)"
	}
	if final.Reason != "" {
		msg += ": " + final.Reason
	}
	return &exitError{code: code, err: errors.New(msg), quiet: g.json()}
}

// stillPaused reports whether the rollout's current state is paused, so a
// paused event replayed from history does not end the wait.
func stillPaused(ctx context.Context, c *apiClient, rollout string) (bool, error) {
	var v contracts.RolloutView
	if _, err := c.call(ctx, http.MethodGet, "/v1/rollouts/"+url.PathEscape(rollout), nil, nil, &v); err != nil {
		return false, fmt.Errorf("reading the state of %s: %w", rollout, err)
	}
	return v.State == contracts.StatePaused, nil
}

// rawProgress prints each event envelope as JSON, one per line.
type rawProgress struct{ w io.Writer }

func (r rawProgress) event(e sseEvent, _ contracts.Envelope, _ contracts.Event) {
	printRaw(r.w, e.Data)
}
func (rawProgress) done() {}

// lineProgress prints one line per event.
type lineProgress struct {
	w io.Writer
	p painter
}

func (l *lineProgress) event(_ sseEvent, env contracts.Envelope, ev contracts.Event) {
	fmt.Fprintln(l.w, eventLine(l.p, "", env, ev))
}

func (l *lineProgress) done() {}

// barProgress shows one bar per phase, counting finished hosts, with
// notable events printed above the bars.
type barProgress struct {
	w io.Writer
	p *mpb.Progress
	// last is the final event's line, printed below the bars once they
	// stop: a line written to the container just before it shuts down
	// may never be rendered.
	last   string
	paint  painter
	bars   map[int]*mpb.Bar
	failed map[int]*atomic.Int64
}

// newBarProgress draws on w. Auto refresh is forced because the caller has
// already decided that w is a terminal (and so tests can draw into a buffer).
func newBarProgress(ctx context.Context, w io.Writer) *barProgress {
	return &barProgress{
		w:      w,
		p:      mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond)),
		paint:  painter(true),
		bars:   map[int]*mpb.Bar{},
		failed: map[int]*atomic.Int64{},
	}
}

func (b *barProgress) bar(index int, name string, total int) *mpb.Bar {
	if bar, ok := b.bars[index]; ok {
		return bar
	}
	failed := &atomic.Int64{} // read by the render goroutine
	b.failed[index] = failed
	label := fmt.Sprintf("%d %s", index, name) // numbered as in JSON, from 0
	bar := b.p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.CountersNoUnit("%d/%d"),
			decor.Any(func(decor.Statistics) string {
				if n := failed.Load(); n > 0 {
					return b.paint.paint(ansiRed, fmt.Sprintf(" %d failed", n))
				}
				return ""
			}),
		),
	)
	b.bars[index] = bar
	return bar
}

func (b *barProgress) event(_ sseEvent, env contracts.Envelope, ev contracts.Event) {
	typ := contracts.EventType(eventTypeName(env.Type))
	switch typ {
	case contracts.EventPlanned:
		if ev.Plan != nil {
			for i, ph := range ev.Plan.Phases {
				n := 0
				for _, batch := range ph.Batches {
					n += len(batch)
				}
				b.bar(i, ph.Name, n)
			}
		} else if ev.PlanRef != nil {
			for i, ph := range ev.PlanRef.Summary.Phases {
				b.bar(i, ph.Name, ph.Hosts)
			}
		}
	case contracts.EventPhaseStarted:
		if ev.Phase != nil {
			b.bar(ev.Phase.Index, ev.Phase.Name, hostCount(ev))
		}
	case contracts.EventHostSucceeded, contracts.EventHostFailed:
		if ev.Phase != nil {
			bar := b.bar(ev.Phase.Index, ev.Phase.Name, 0)
			if typ == contracts.EventHostFailed {
				b.failed[ev.Phase.Index].Add(1)
			}
			bar.Increment()
		}
	}
	switch typ {
	case contracts.EventBatchStarted, contracts.EventHostSucceeded, contracts.EventPhaseStarted, contracts.EventPhaseCompleted:
		return // the bars show these
	}
	if ev.State.Terminal() {
		b.last = eventLine(b.paint, "", env, ev)
		return
	}
	fmt.Fprintln(b.p, eventLine(b.paint, "", env, ev))
}

func (b *barProgress) done() {
	for _, bar := range b.bars {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
	if b.last != "" {
		fmt.Fprintln(b.w, b.last)
	}
}
