package executor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/executor/internal/claim"
)

// The test binary doubles as the programs exec actions run.
func TestMain(m *testing.M) {
	if os.Getenv("ROLLWAVE_EXECUTOR_TEST_HELPER") == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	if url := os.Getenv(executorProcessEnv); url != "" {
		os.Exit(executorProcess(url))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	switch args[0] {
	case "append": // append a line to a file: counts runs
		f, err := os.OpenFile(args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 3
		}
		fmt.Fprintln(f, "ran")
		f.Close()
		fmt.Println("appended")
	case "waitfile": // record a start, then wait for a go-ahead file
		f, err := os.OpenFile(args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 3
		}
		fmt.Fprintln(f, "started")
		f.Close()
		for {
			if _, err := os.Stat(args[2]); err == nil {
				fmt.Println("released")
				return 0
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "pidsleep": // record the own pid, then hang until killed
		if err := os.WriteFile(args[1], []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return 3
		}
		time.Sleep(time.Hour)
	case "span": // log start and end, refusing to run while another holds the lock
		return span(args[1], args[2], args[3])
	case "exit":
		code, _ := strconv.Atoi(args[1])
		fmt.Println("failing on purpose")
		return code
	default:
		return 2
	}
	return 0
}

var helperEnv = []string{"PATH=" + os.Getenv("PATH"), "ROLLWAVE_EXECUTOR_TEST_HELPER=1", "GORACE=atexit_sleep_ms=0"}

type harness struct {
	t   *testing.T
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	return &harness{t: t, srv: srv, nc: nc, js: natstest.JetStream(t, nc)}
}

type execOpts struct {
	tracer  trace.TracerProvider
	metrics prometheus.Registerer
	clock   clock.Clock
}

// start runs an executor on a connection of its own, so a test can cut it
// off like a dead process.
func (h *harness) start(cfg Config, o execOpts) *Service {
	h.t.Helper()
	nc := natstest.Connect(h.t, h.srv)
	js, err := jetstream.New(nc)
	if err != nil {
		h.t.Fatal(err)
	}
	if cfg.ExecEnv == nil {
		cfg.ExecEnv = helperEnv
	}
	if o.tracer == nil {
		o.tracer = noop.NewTracerProvider()
	}
	if o.clock == nil {
		o.clock = clock.Real{}
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(service.Deps{NC: nc, JS: js, Log: log, Tracer: o.tracer, Metrics: o.metrics, Clock: o.clock}, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

func action(rollout, host string, d contracts.DriverSpec) contracts.HostAction {
	return contracts.HostAction{
		ID: contracts.ActionID(rollout, 0, host, 1), Rollout: rollout, Environment: "prod", App: "web",
		Version: "2.4.1", PreviousVersion: "2.4.0", Phase: contracts.PhaseRef{Index: 0, Name: "canary"},
		Batch: 1, Attempt: 1, Host: contracts.ActionHost{Name: host, Address: "127.0.0.1"}, Driver: d,
	}
}

func simDriver() contracts.DriverSpec { return contracts.DriverSpec{Sim: &contracts.SimDriver{}} }

func execDriver(argv ...string) contracts.DriverSpec {
	return contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: append([]string{os.Args[0]}, argv...)}}
}

// publish queues an action for pool with the given message id.
func (h *harness) publish(ctx context.Context, pool string, a contracts.HostAction, msgID string) {
	h.t.Helper()
	m, err := natsx.EnvelopeMsg(ctx, contracts.ActionSubject(pool, a.Environment), contracts.TypeHostAction,
		msgID, "test", a.ID, time.Now(), a)
	if err != nil {
		h.t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(pctx, m); err != nil {
		h.t.Fatal(err)
	}
}

// result is a published result with its message.
type result struct {
	contracts.HostResult
	msgID string
	env   contracts.Envelope
}

// results reads every result of a rollout from the RESULTS stream.
func (h *harness) results(rollout string) []result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := h.js.OrderedConsumer(ctx, contracts.StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.ResultSubject("prod", rollout)}})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []result
	for {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			h.t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			env, err := contracts.DecodeEnvelope(m.Data())
			if err != nil {
				h.t.Fatalf("result envelope: %v", err)
			}
			var r contracts.HostResult
			if err := env.DecodeData(contracts.TypeHostResult, &r); err != nil {
				h.t.Fatalf("result data: %v", err)
			}
			out = append(out, result{HostResult: r, msgID: m.Headers().Get(nats.MsgIdHdr), env: env})
		}
		if n == 0 {
			return out
		}
	}
}

// waitResults waits until the rollout has n results.
func (h *harness) waitResults(rollout string, n int, timeout time.Duration) []result {
	h.t.Helper()
	var got []result
	natstest.CheckFor(h.t, timeout, 20*time.Millisecond, func() error {
		got = h.results(rollout)
		if len(got) < n {
			return fmt.Errorf("%d results of %d", len(got), n)
		}
		return nil
	})
	return got
}

// consumerInfo returns the state of a pool's consumer.
func (h *harness) consumerInfo(pool string) *jetstream.ConsumerInfo {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := h.js.Consumer(ctx, contracts.StreamActions, contracts.ExecutorConsumer(pool, 0).Durable)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info
}

// waitIdle waits until the pool's consumer has nothing pending or
// unacknowledged.
func (h *harness) waitIdle(pool string) {
	h.t.Helper()
	natstest.CheckFor(h.t, 10*time.Second, 20*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons, err := h.js.Consumer(ctx, contracts.StreamActions, contracts.ExecutorConsumer(pool, 0).Durable)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("pending %d, unacked %d", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

// poolMessages counts the actions left in the work queue for a pool.
func (h *harness) poolMessages(pool string) uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := h.js.Stream(ctx, contracts.StreamActions)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(contracts.ActionPoolFilter(pool)))
	if err != nil {
		h.t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// endHeartbeat removes a dead executor's heartbeat, as its expiry would.
func (h *harness) endHeartbeat(s *Service) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, contracts.ExecutorsBucket)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := kv.Delete(ctx, claim.Key(s.currentInstance())); err != nil {
		h.t.Fatal(err)
	}
}
