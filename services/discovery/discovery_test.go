package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

const inventoryYAML = `
environments:
  - name: qa
    position: 1
    params: {region: eu-west}
    driver: {sim: {median: 10ms}}
    hosts:
      - {name: qa-web-02, address: 10.0.1.12:8080, groups: [web]}
      - {name: qa-web-01, address: 10.0.1.11:8080, groups: [web, east], labels: {tier: web}}
      - {name: qa-db-01, address: 10.0.2.11:5432, groups: [db], pool: db}
  - name: production
    position: 3
    hosts:
      - {name: prod-web-01, address: 10.1.1.11:8080}
`

var finished = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	nc  *nats.Conn
	js  jetstream.JetStream
	reg *prometheus.Registry
	db  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	return &env{t: t, nc: nc, js: natstest.JetStream(t, nc), db: filepath.Join(t.TempDir(), "discovery.db")}
}

// start starts a discovery service that is stopped when the test ends.
func (e *env) start(mut func(*Config, *service.Deps)) *Service {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	deps := service.Deps{NC: e.nc, JS: e.js, Log: slog.New(slog.DiscardHandler), Metrics: e.reg}
	cfg := Config{Inventory: []byte(inventoryYAML), DBPath: e.db}
	if mut != nil {
		mut(&cfg, &deps)
	}
	s, err := New(deps, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { stop(e.t, s) })
	return s
}

func stop(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func (e *env) targets(q contracts.TargetsQuery) (contracts.Environment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return natsx.Request[contracts.Environment](ctx, e.nc, contracts.APIDiscoveryTargets, q)
}

func (e *env) inventory(q contracts.InventoryQuery) (contracts.Inventory, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return natsx.Request[contracts.Inventory](ctx, e.nc, contracts.APIDiscoveryInventory, q)
}

// publish publishes a host result and returns its stream sequence.
func (e *env) publish(envName, rollout, host, app, version string, status contracts.ResultStatus, at time.Time) uint64 {
	e.t.Helper()
	actionID := contracts.ActionID(rollout, 0, host, 1)
	r := contracts.HostResult{
		ActionID: actionID, Rollout: rollout, Environment: envName, App: app, Version: version,
		Host: host, Attempt: 1, Status: status, StartedAt: at.Add(-time.Second), FinishedAt: at, Executor: "test",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := natsx.EnvelopeMsg(ctx, contracts.ResultSubject(envName, rollout), contracts.TypeHostResult,
		contracts.ResultMsgID(actionID), "test", "", at, r)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.js.PublishMsg(ctx, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return ack.Sequence
}

func (e *env) publishRaw(subject string, data []byte) uint64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := e.js.Publish(ctx, subject, data)
	if err != nil {
		e.t.Fatal(err)
	}
	return ack.Sequence
}

func versionsOf(envr contracts.Environment) map[string]string {
	out := map[string]string{}
	for _, h := range envr.Hosts {
		for app, v := range h.Versions {
			out[h.Name+"/"+app] = v.Version
		}
	}
	return out
}

func (e *env) waitVersions(q contracts.TargetsQuery, want map[string]string) contracts.Environment {
	e.t.Helper()
	var got contracts.Environment
	natstest.CheckFor(e.t, 10*time.Second, 20*time.Millisecond, func() error {
		var err error
		got, err = e.targets(q)
		if err != nil {
			return err
		}
		if g := versionsOf(got); fmt.Sprint(g) != fmt.Sprint(want) {
			return fmt.Errorf("versions = %v, want %v", g, want)
		}
		return nil
	})
	return got
}

func wantCode(t *testing.T, err error, code contracts.Code, field string) {
	t.Helper()
	var ce *contracts.Error
	if !errors.As(err, &ce) || ce.Code != code || ce.Field != field {
		t.Fatalf("err = %#v, want %s on %q", err, code, field)
	}
}

func TestTargetsAndInventory(t *testing.T) {
	e := newEnv(t)
	e.start(nil)

	qa, err := e.targets(contracts.TargetsQuery{Environment: "qa"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range qa.Hosts {
		names = append(names, h.Name)
		if h.Versions != nil {
			t.Fatalf("versions without an app: %+v", h)
		}
	}
	if strings.Join(names, ",") != "qa-db-01,qa-web-01,qa-web-02" {
		t.Fatalf("hosts = %v, want sorted", names)
	}
	if qa.Params["region"] != "eu-west" || qa.Hosts[0].Pool != "db" || qa.Hosts[1].Pool != contracts.DefaultPool ||
		qa.Hosts[1].Driver == nil || qa.Hosts[1].Driver.Sim == nil || qa.Hosts[1].Labels["tier"] != "web" {
		t.Fatalf("qa = %+v", qa)
	}

	_, err = e.targets(contracts.TargetsQuery{Environment: "staging"})
	wantCode(t, err, contracts.CodeNotFound, "environment")
	_, err = e.targets(contracts.TargetsQuery{})
	wantCode(t, err, contracts.CodeInvalid, "environment")
	_, err = e.targets(contracts.TargetsQuery{Environment: "qa.>"})
	wantCode(t, err, contracts.CodeInvalid, "environment")

	// Targets queries come from the planner: a newer planner's extra field
	// is skipped, and a query without its environment is still refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = natsx.Request[contracts.Environment](ctx, e.nc, contracts.APIDiscoveryTargets, map[string]string{"env": "qa"})
	wantCode(t, err, contracts.CodeInvalid, "environment")
	if got, err := natsx.Request[contracts.Environment](ctx, e.nc, contracts.APIDiscoveryTargets, map[string]string{"environment": "qa", "from_future": "x"}); err != nil || got.Name != "qa" {
		t.Fatalf("targets with a future field: %+v, %v", got, err)
	}

	inv, err := e.inventory(contracts.InventoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Environments) != 2 || inv.Environments[0].Name != "qa" || inv.Environments[1].Name != "production" {
		t.Fatalf("inventory = %+v", inv)
	}
	one, err := e.inventory(contracts.InventoryQuery{Environment: "production"})
	if err != nil || len(one.Environments) != 1 || one.Environments[0].Hosts[0].Name != "prod-web-01" {
		t.Fatalf("inventory of production = %+v, %v", one, err)
	}
	_, err = e.inventory(contracts.InventoryQuery{Environment: "nowhere"})
	wantCode(t, err, contracts.CodeNotFound, "environment")

	if got := metric(t, e.reg, "rollwave_discovery_hosts", "qa"); got != 3 {
		t.Fatalf("rollwave_discovery_hosts{qa} = %v", got)
	}
}

func TestVersionsFromResults(t *testing.T) {
	e := newEnv(t)
	e.start(nil)

	e.publish("qa", "r1", "qa-web-01", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r1", "qa-web-02", "web", "1.0.0", contracts.ResultFailed, finished)
	e.publishRaw(contracts.ResultSubject("qa", "junk"), []byte("not json"))
	e.publish("qa", "r2", "qa-web-01", "api", "3.1.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r3", "qa-web-01", "web", "1.1.0", contracts.ResultSucceeded, finished.Add(time.Hour))
	// A host that is not in the inventory is recorded but not shown.
	e.publish("qa", "r3", "qa-gone-01", "web", "1.1.0", contracts.ResultSucceeded, finished)
	last := e.publish("production", "r4", "prod-web-01", "web", "0.9.0", contracts.ResultSucceeded, finished)

	qa := e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.1.0"})
	for _, h := range qa.Hosts {
		if h.Name == "qa-web-01" {
			v := h.Versions["web"]
			if v.Rollout != "r3" || !v.UpdatedAt.Equal(finished.Add(time.Hour)) {
				t.Fatalf("version = %+v", v)
			}
		}
	}
	e.waitVersions(contracts.TargetsQuery{Environment: "production", App: "web"}, map[string]string{"prod-web-01/web": "0.9.0"})
	waitCursor(t, e.db, last)

	inv, err := e.inventory(contracts.InventoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := versionsOf(inv.Environments[0]); fmt.Sprint(got) != fmt.Sprint(map[string]string{"qa-web-01/api": "3.1.0", "qa-web-01/web": "1.1.0"}) {
		t.Fatalf("inventory versions = %v", got)
	}
	// Metrics follow the commit that the queries above observed.
	waitMetric(t, e.reg, "rollwave_discovery_results_applied_total", "", 5)
	waitMetric(t, e.reg, "rollwave_discovery_results_ignored_total", "invalid", 1)
	waitMetric(t, e.reg, "rollwave_discovery_results_ignored_total", "failed", 1)
}

func TestRestartResumesFromCursor(t *testing.T) {
	e := newEnv(t)
	s := e.start(nil)
	e.publish("qa", "r1", "qa-web-01", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r1", "qa-web-02", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.0.0", "qa-web-02/web": "1.0.0"})
	stop(t, s)

	// Results published while discovery is down are applied on restart,
	// and only those: the cursor says where it stopped.
	last := e.publish("qa", "r2", "qa-web-02", "web", "2.0.0", contracts.ResultSucceeded, finished.Add(time.Hour))
	s = e.start(nil)
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.0.0", "qa-web-02/web": "2.0.0"})
	waitCursor(t, e.db, last)
	// Stop waits for the applier, so the counter is final.
	stop(t, s)
	if got := metric(t, e.reg, "rollwave_discovery_results_applied_total", ""); got != 1 {
		t.Fatalf("applied after restart = %v, want 1", got)
	}
}

func TestRebuildFromScratch(t *testing.T) {
	e := newEnv(t)
	s := e.start(nil)
	e.publish("qa", "r1", "qa-web-01", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r2", "qa-web-01", "web", "1.1.0", contracts.ResultSucceeded, finished.Add(time.Hour))
	e.publish("qa", "r2", "qa-db-01", "db", "14", contracts.ResultSucceeded, finished)
	before, err := func() (contracts.Inventory, error) {
		e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "db"}, map[string]string{"qa-db-01/db": "14"})
		e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.1.0"})
		return e.inventory(contracts.InventoryQuery{})
	}()
	if err != nil {
		t.Fatal(err)
	}
	stop(t, s)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(e.db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	e.start(nil)
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.1.0"})
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "db"}, map[string]string{"qa-db-01/db": "14"})
	after, err := e.inventory(contracts.InventoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("rebuilt inventory differs:\n got %+v\nwant %+v", after, before)
	}
}

func TestRecreatedStreamIsAppliedFromItsStart(t *testing.T) {
	e := newEnv(t)
	s := e.start(nil)
	for i := range 3 {
		e.publish("qa", fmt.Sprintf("r%d", i), "qa-web-01", "web", fmt.Sprintf("1.0.%d", i), contracts.ResultSucceeded, finished)
	}
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.0.2"})
	stop(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.js.DeleteStream(ctx, contracts.StreamResults); err != nil {
		t.Fatal(err)
	}
	if err := natsx.EnsureStreams(ctx, e.js, contracts.Streams(), 1); err != nil {
		t.Fatal(err)
	}
	// Sequence 1 of the new stream is behind the recorded cursor (3).
	e.publish("qa", "r5", "qa-web-02", "web", "5.0.0", contracts.ResultSucceeded, finished)
	e.start(nil)
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.0.2", "qa-web-02/web": "5.0.0"})
}

func TestBatchIsOneTransaction(t *testing.T) {
	e := newEnv(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	// Results published before the service starts arrive together.
	var last uint64
	for i := range 40 {
		last = e.publish("qa", fmt.Sprintf("r%d", i), "qa-web-01", "web", fmt.Sprintf("1.%d.0", i), contracts.ResultSucceeded, finished)
	}
	e.start(func(c *Config, d *service.Deps) {
		c.BatchSize = 8
		d.Tracer = tp
	})
	e.waitVersions(contracts.TargetsQuery{Environment: "qa", App: "web"}, map[string]string{"qa-web-01/web": "1.39.0"})
	waitCursor(t, e.db, last)
	var batches, results int
	for _, sp := range rec.Ended() {
		if sp.Name() != "discovery.apply_results" {
			continue
		}
		batches++
		for _, a := range sp.Attributes() {
			if a.Key == "rollwave.results" {
				if n := int(a.Value.AsInt64()); n > 8 {
					t.Fatalf("batch of %d results exceeds BatchSize 8", n)
				} else {
					results += n
				}
			}
		}
	}
	if results != 40 || batches < 5 {
		t.Fatalf("%d results in %d batches, want 40 in at least 5", results, batches)
	}
}

func TestNewChecksConfig(t *testing.T) {
	e := newEnv(t)
	deps := service.Deps{NC: e.nc, JS: e.js}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no db", Config{Inventory: []byte(inventoryYAML)}, "DBPath is required"},
		{"no inventory", Config{DBPath: e.db}, "InventoryPath, Inventory or Sources is required"},
		{"both", Config{DBPath: e.db, Inventory: []byte(inventoryYAML), InventoryPath: "x.yaml"}, "not both"},
		{"bad inventory", Config{DBPath: e.db, Inventory: []byte("environments: [{name: qa, hosts: [{name: a}]}]")},
			"environments[0].hosts[0].address: is required"},
		{"missing file", Config{DBPath: e.db, InventoryPath: filepath.Join(t.TempDir(), "none.yaml")}, "read inventory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(deps, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(service.Deps{JS: e.js}, Config{DBPath: e.db, Inventory: []byte(inventoryYAML)}); err == nil {
		t.Fatal("New accepted deps without a connection")
	}
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(path, []byte(inventoryYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(deps, Config{DBPath: e.db, InventoryPath: path})
	if err != nil || s.Name() != "discovery" {
		t.Fatalf("New from a file: %v", err)
	}
}

func TestStopTurnsQueriesAway(t *testing.T) {
	e := newEnv(t)
	s := e.start(nil)
	stop(t, s)
	_, err := e.targets(contracts.TargetsQuery{Environment: "qa"})
	var ce *contracts.Error
	if !errors.As(err, &ce) || (ce.Code != contracts.CodeUnavailable && ce.Code != contracts.CodeTimeout) {
		t.Fatalf("query after stop: %v", err)
	}
	// Stopping twice is harmless.
	stop(t, s)
}

// waitCursor waits until the database records seq as applied.
func waitCursor(t *testing.T, path string, seq uint64) {
	t.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		got, err := st.cursor(ctx, contracts.StreamResults)
		if err != nil {
			return err
		}
		if got != seq {
			return fmt.Errorf("cursor = %d, want %d", got, seq)
		}
		return nil
	})
}

// waitMetric waits until a metric has the wanted value.
func waitMetric(t *testing.T, reg *prometheus.Registry, name, label string, want float64) {
	t.Helper()
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if got := metric(t, reg, name, label); got != want {
			return fmt.Errorf("%s{%s} = %v, want %v", name, label, got, want)
		}
		return nil
	})
}

// metric returns the value of a collector's series by name and, when set,
// the value of its one label; 0 when there is no such series.
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if label != "" && (len(m.Label) != 1 || m.Label[0].GetValue() != label) {
				continue
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}
