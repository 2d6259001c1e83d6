// Package e2e runs whole rollouts through every service on an embedded
// JetStream server: the integration tests of the spine.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/services/executor"
	"github.com/rollwave/rollwave/tools/internal/stack"
)

// waitLong bounds every wait; generous, because a busy CI machine may need a
// redelivery (after the executors' short ack wait below) to finish a step.
const waitLong = 45 * time.Second

type harness struct {
	t  *testing.T
	st *stack.Stack
}

type harnessOpts struct {
	services  []string
	inventory string
	clock     clock.Clock
	tracer    trace.TracerProvider
	tracers   func(service string) trace.TracerProvider
	executor  executor.Config
	dataDir   string
	metrics   string
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.executor.AckWait == 0 {
		// An action whose delivery is lost comes back within the test.
		o.executor.AckWait = 3 * time.Second
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("ROLLWAVE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Services:      o.services,
		DataDir:       o.dataDir,
		NATSPort:      -1,
		Inventory:     []byte(o.inventory),
		GatewayAddr:   "127.0.0.1:0",
		MetricsAddr:   o.metrics,
		Executor:      o.executor,
		SchedulerTick: 50 * time.Millisecond,
		Log:           log,
		Tracer:        o.tracer,
		Tracers:       o.tracers,
		Clock:         o.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		st.Stop(ctx)
	})
	return &harness{t: t, st: st}
}

// deploy publishes a request the way an external system does.
func (h *harness) deploy(ctx context.Context, req contracts.DeployRequest) {
	h.t.Helper()
	h.publishRaw(ctx, req.ID, mustEnvelope(h.t, req))
}

func (h *harness) publishRaw(ctx context.Context, msgID string, body []byte) {
	h.t.Helper()
	m := natsx.NewMsg(ctx, contracts.SubjectDeployRequest, msgID, body)
	if _, err := h.st.JS.PublishMsg(ctx, m); err != nil {
		h.t.Fatalf("publish request: %v", err)
	}
}

func mustEnvelope(t testing.TB, req contracts.DeployRequest) []byte {
	t.Helper()
	b, err := contracts.Marshal(contracts.TypeDeployRequest, req.ID, "rollwave/e2e", req.ID, time.Now(), req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rollout asks the scheduler for a rollout.
func (h *harness) rollout(id string) (contracts.RolloutView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return natsx.Request[contracts.RolloutView](ctx, h.st.NC, contracts.APISchedulerGet, contracts.RolloutQuery{Rollout: id})
}

// waitState waits until the rollout is in state; on time-out it reports
// where every host stands.
// waitQueued waits until the rollout is queued for a reason that names
// every one of why.
func (h *harness) waitQueued(id string, why ...string) {
	h.t.Helper()
	natstest.CheckFor(h.t, waitLong, 10*time.Millisecond, func() error {
		v, err := h.rollout(id)
		if err != nil {
			return err
		}
		if v.State != contracts.StateQueued {
			return fmt.Errorf("rollout is %s (%q), want queued for %q", v.State, v.Reason, why)
		}
		for _, w := range why {
			if !strings.Contains(v.Reason, w) {
				return fmt.Errorf("rollout is queued for %q, want a reason naming %q", v.Reason, why)
			}
		}
		return nil
	})
}

// stillQueuedAfter advances the fake clock by d, waits until the scheduler
// has looked again (it waits on the clock), and checks the rollout still
// waits.
func (h *harness) stillQueuedAfter(fake *clock.Fake, d time.Duration, id string) {
	h.t.Helper()
	fake.Advance(d)
	natstest.CheckFor(h.t, waitLong, 10*time.Millisecond, func() error {
		if fake.Waiters() == 0 {
			return fmt.Errorf("scheduler not waiting on the clock")
		}
		return nil
	})
	if v, _ := h.rollout(id); v.State != contracts.StateQueued {
		h.t.Fatalf("admitted while blocked: %s", v.State)
	}
}

func (h *harness) waitState(id string, state contracts.State) contracts.RolloutView {
	h.t.Helper()
	var v contracts.RolloutView
	deadline := time.Now().Add(waitLong)
	for {
		var err error
		v, err = h.rollout(id)
		if err == nil && v.State == state {
			return v
		}
		if time.Now().After(deadline) {
			if err != nil {
				h.t.Fatalf("rollout %s: %v", id, err)
			}
			for _, p := range v.Phases {
				for _, host := range p.Hosts {
					h.t.Logf("phase %s batch %d host %s: %s attempt %d %s", p.Name, host.Batch, host.Name, host.State, host.Attempt, host.Error)
				}
			}
			h.t.Logf("events: %v", eventNames(h.events(id)))
			h.t.Fatalf("rollout %s is %s (%s), want %s", id, v.State, v.Reason, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedEvent is an event read back from the EVENTS stream.
type storedEvent struct {
	Type  contracts.EventType
	Event contracts.Event
	MsgID string
	Seq   uint64
}

func (e storedEvent) String() string {
	s := string(e.Type)
	if e.Event.Phase != nil {
		s += ":" + e.Event.Phase.Name
	}
	if e.Event.Batch > 0 && e.Type == contracts.EventBatchStarted {
		s += fmt.Sprintf("#%d", e.Event.Batch)
	}
	if e.Event.Host != nil {
		s += ":" + e.Event.Host.Name
	}
	return s
}

// events reads every stored event of a rollout (type filter optional).
func (h *harness) events(rollout string) []storedEvent {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := h.st.JS.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		h.t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contracts.EventFilter("", rollout, "")}})
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(contracts.EventFilter("", rollout, "")))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []storedEvent
	want := 0
	for _, n := range info.State.Subjects {
		want += int(n)
	}
	for len(out) < want {
		batch, err := cons.Fetch(want-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			h.t.Fatal(err)
		}
		for m := range batch.Messages() {
			env, ev, err := contracts.DecodeEvent(m.Data())
			if err != nil {
				h.t.Fatalf("stored event does not decode: %v", err)
			}
			md, _ := m.Metadata()
			_, _, typ, _ := contracts.ParseEventSubject(m.Subject())
			if !strings.HasSuffix(env.Type, string(typ)+".v1") {
				h.t.Fatalf("subject %s carries type %s", m.Subject(), env.Type)
			}
			out = append(out, storedEvent{Type: typ, Event: ev, MsgID: m.Headers().Get("Nats-Msg-Id"), Seq: md.Sequence.Stream})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			h.t.Fatal(err)
		}
	}
	return out
}

func eventNames(evs []storedEvent) []string {
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.String()
	}
	return names
}

// results reads every host result of a rollout from the RESULTS stream.
func (h *harness) results(env, rollout string) []contracts.HostResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := h.st.JS.Stream(ctx, contracts.StreamResults)
	if err != nil {
		h.t.Fatal(err)
	}
	subj := contracts.ResultSubject(env, rollout)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		h.t.Fatal(err)
	}
	want := int(info.State.Subjects[subj])
	var out []contracts.HostResult
	if want == 0 {
		return out
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		h.t.Fatal(err)
	}
	for len(out) < want {
		batch, err := cons.Fetch(want-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			h.t.Fatal(err)
		}
		for m := range batch.Messages() {
			r, err := contracts.DecodeHostResult(m.Data())
			if err != nil {
				h.t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

// actionsPublished counts host actions ever stored for an environment.
func (h *harness) actionsPublished(pool, env string) int {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := h.st.JS.Stream(ctx, contracts.StreamActions)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return int(info.State.LastSeq)
}

func hostNames(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

func countBy[T any](xs []T, key func(T) string) map[string]int {
	m := map[string]int{}
	for _, x := range xs {
		m[key(x)]++
	}
	return m
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var _ = slices.Contains[[]string]
