// Package loadbench measures Rollwave end to end the way an external system
// uses it: it publishes deploy requests to the request subject and waits for
// each rollout's final event, then pushes the same number of messages of the
// same sizes through a bare JetStream pipeline to show what the broker alone
// costs.
package loadbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/executor"
	"github.com/rollwave/rollwave/tools/internal/stack"
)

// Options configures a run.
type Options struct {
	Deployments  int
	Hosts        int // hosts per deployment
	Environments int // rollouts in one environment run one after another
	SyncAlways   bool
	// InFlight caps rollouts published but not finished, as a well-behaved
	// publisher with back-pressure would.
	InFlight    int
	Concurrency int // executor concurrency
	DataDir     string
	Timeout     time.Duration
	Log         *slog.Logger
}

// Result holds the figures of one run.
type Result struct {
	Options       Options
	Duration      time.Duration
	Completed     int
	Failed        int
	DeploysPerSec float64
	ActionsPerSec float64
	P50, P99, Max time.Duration
	PeakRSS       int64 // bytes, whole process including the embedded server
	Messages      uint64
	Bytes         uint64
	Bare          time.Duration
	BareMsgsPerS  float64
	// BareErr is why the bare pipeline gave no figure (its time-out); the
	// run's own figures stand.
	BareErr error
}

// Ratio is how many times longer Rollwave took than the bare pipeline.
func (r Result) Ratio() float64 {
	if r.Bare <= 0 {
		return 0
	}
	return r.Duration.Seconds() / r.Bare.Seconds()
}

// Print writes the figures.
func (r Result) Print(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "rollwave bench: %d deployments x %d hosts over %d environments, sync_always=%v, in-flight %d\n",
		o.Deployments, o.Hosts, o.Environments, o.SyncAlways, o.InFlight)
	fmt.Fprintf(w, "  completed %d, failed %d in %.2fs\n", r.Completed, r.Failed, r.Duration.Seconds())
	fmt.Fprintf(w, "  deployments/s  %10.1f\n", r.DeploysPerSec)
	fmt.Fprintf(w, "  host actions/s %10.1f\n", r.ActionsPerSec)
	fmt.Fprintf(w, "  request->done  p50 %v  p99 %v  max %v\n", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond))
	fmt.Fprintf(w, "  peak RSS       %10.1f MiB\n", float64(r.PeakRSS)/(1<<20))
	fmt.Fprintf(w, "  JetStream      %d messages, %.1f MiB stored\n", r.Messages, float64(r.Bytes)/(1<<20))
	if r.BareErr != nil {
		fmt.Fprintf(w, "  bare pipeline  did not finish within --timeout %v: %v\n", o.Timeout, r.BareErr)
		return
	}
	fmt.Fprintf(w, "  bare pipeline  %d messages of the same sizes in %.2fs (%.0f msg/s)\n", r.Messages, r.Bare.Seconds(), r.BareMsgsPerS)
	fmt.Fprintf(w, "  ratio          %.2fx the bare pipeline's time\n", r.Ratio())
}

// Run performs the benchmark.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Deployments <= 0 || o.Hosts <= 0 {
		return Result{}, errors.New("deployments and hosts must be positive")
	}
	if o.Environments <= 0 {
		o.Environments = min(o.Deployments, 1000)
	}
	if o.InFlight <= 0 {
		o.InFlight = 2000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 512
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	res := Result{Options: o}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	st, err := stack.Start(ctx, stack.Options{
		Services:   []string{"discovery", "calendar", "planner", "scheduler", "executor"},
		DataDir:    o.DataDir + "/rollwave",
		NATSPort:   -1,
		SyncAlways: o.SyncAlways,
		Inventory:  inventory(o.Environments, o.Hosts),
		Executor:   executor.Config{Concurrency: o.Concurrency, AckWait: time.Minute},
		Log:        o.Log,
	})
	if err != nil {
		return res, err
	}
	defer st.Stop(context.Background())

	if err := drive(ctx, st, o, &res); err != nil {
		return res, err
	}
	res.Messages, res.Bytes, err = streamTotals(ctx, st.JS)
	if err != nil {
		return res, err
	}
	st.Stop(ctx)

	// The bare pipeline has a time-out of its own: at 100,000 hosts it
	// stores half a million synced messages, minutes on a busy disk, and
	// must not eat into the run it is compared with.
	bctx, bcancel := context.WithTimeout(parent, o.Timeout)
	defer bcancel()
	res.Bare, err = bare(bctx, o, res.Messages, res.Bytes)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil:
		res.Bare, res.BareErr = 0, err
	case err != nil:
		return res, fmt.Errorf("bare pipeline: %w", err)
	default:
		res.BareMsgsPerS = float64(res.Messages) / res.Bare.Seconds()
	}
	res.PeakRSS = peakRSS()
	return res, nil
}

func drive(ctx context.Context, st *stack.Stack, o Options, res *Result) error {
	type outcome struct {
		id string
		ok bool
		at time.Time
	}
	done := make(chan outcome, o.Deployments)
	handler := func(m *nats.Msg) {
		_, rollout, t, err := contracts.ParseEventSubject(m.Subject)
		if err != nil {
			return
		}
		done <- outcome{id: rollout, ok: t == contracts.EventCompleted, at: time.Now()}
	}
	for _, t := range []contracts.EventType{contracts.EventCompleted, contracts.EventFailed, contracts.EventRejected, contracts.EventAborted} {
		sub, err := st.NC.Subscribe(contracts.EventFilter("", "", t), handler)
		if err != nil {
			return err
		}
		_ = sub.SetPendingLimits(-1, -1)
		defer sub.Unsubscribe()
	}
	if err := st.NC.Flush(); err != nil {
		return err
	}

	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	var mu sync.Mutex
	sent := make(map[string]time.Time, o.Deployments)
	slots := make(chan struct{}, o.InFlight)
	pubErr := make(chan error, 1)
	start := time.Now()
	go func() {
		for i := 0; i < o.Deployments; i++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				pubErr <- ctx.Err()
				return
			}
			id := fmt.Sprintf("bench-%s-%d", run, i)
			req := contracts.DeployRequest{
				ID: id, App: "app", Version: fmt.Sprintf("1.0.%d", i), Environment: envName(i % o.Environments),
				Phases: []contracts.PhaseSpec{{Name: "all"}},
			}
			msg, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, id, "rollwave/bench", id, time.Now(), req)
			if err != nil {
				pubErr <- err
				return
			}
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			if _, err := st.JS.PublishMsgAsync(msg); err != nil {
				pubErr <- fmt.Errorf("publish request %d: %w", i, err)
				return
			}
		}
		pubErr <- nil
	}()

	lat := make([]time.Duration, 0, o.Deployments)
	var last time.Time
	for len(lat) < o.Deployments {
		select {
		case out := <-done:
			mu.Lock()
			t0, ok := sent[out.id]
			delete(sent, out.id)
			mu.Unlock()
			if !ok {
				continue
			}
			<-slots
			lat = append(lat, out.at.Sub(t0))
			last = out.at
			if out.ok {
				res.Completed++
			} else {
				res.Failed++
			}
		case err := <-pubErr:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("%d of %d deployments finished before the time-out: %w", len(lat), o.Deployments, ctx.Err())
		}
	}
	res.Duration = last.Sub(start)
	res.DeploysPerSec = float64(o.Deployments) / res.Duration.Seconds()
	res.ActionsPerSec = float64(o.Deployments*o.Hosts) / res.Duration.Seconds()
	slices.Sort(lat)
	res.P50, res.P99, res.Max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	return nil
}

// streamTotals counts every message ever stored in Rollwave's streams and
// the claims bucket, and their bytes.
func streamTotals(ctx context.Context, js jetstream.JetStream) (msgs, bytes uint64, err error) {
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0, 0, err
		}
		msgs += info.State.LastSeq
		if info.State.Msgs > 0 {
			// Work queues delete what was acknowledged; scale what is left.
			bytes += info.State.Bytes / info.State.Msgs * info.State.LastSeq
		}
	}
	return msgs, bytes, names.Err()
}

func envName(i int) string { return fmt.Sprintf("bench-%04d", i) }

// inventory builds environments of simulated hosts that deploy instantly.
func inventory(envs, hosts int) []byte {
	var b strings.Builder
	b.WriteString("environments:\n")
	for e := 0; e < envs; e++ {
		fmt.Fprintf(&b, "  - name: %s\n    driver: {sim: {}}\n    hosts:\n", envName(e))
		for h := 0; h < hosts; h++ {
			fmt.Fprintf(&b, "      - {name: h%d-%d, address: 10.%d.%d.%d:80}\n", e, h, e/250, e%250, h%250)
		}
	}
	return []byte(b.String())
}

// peakRSS reads the process's high-water mark of resident memory.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
