package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

const pluginTestdata = "internal/plugin/testdata"

// install copies a test script or INI file to dst atomically, as an
// operator replacing a file would.
func install(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pluginTestdata, src))
	if err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o644)
	if strings.HasSuffix(src, ".sh") {
		mode = 0o755
	}
	writeAtomic(t, dst, b, mode)
}

func writeAtomic(t *testing.T, dst string, b []byte, mode os.FileMode) {
	t.Helper()
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// inventoryEvents collects inventory events as they are published.
type inventoryEvents struct {
	mu  sync.Mutex
	got []string
}

func (e *env) watchInventory() *inventoryEvents {
	e.t.Helper()
	iv := &inventoryEvents{}
	sub, err := e.nc.Subscribe(contracts.EventFilter("", contracts.InventoryRollout, ""), func(m *nats.Msg) {
		var env contracts.Envelope
		var ev contracts.InventoryEvent
		if json.Unmarshal(m.Data, &env) != nil || json.Unmarshal(env.Data, &ev) != nil {
			return
		}
		_, _, t, _ := contracts.ParseEventSubject(m.Subject)
		s := string(t)
		if ev.Host != nil {
			s += " " + ev.Host.Name
		}
		if ev.Source != "" {
			s += " " + filepath.Base(ev.Source)
		}
		iv.mu.Lock()
		iv.got = append(iv.got, s)
		iv.mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	return iv
}

func (iv *inventoryEvents) waitFor(t *testing.T, want string) {
	t.Helper()
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		iv.mu.Lock()
		defer iv.mu.Unlock()
		if slices.Contains(iv.got, want) {
			return nil
		}
		return fmt.Errorf("no event %q in %q", want, iv.got)
	})
}

func (e *env) status() contracts.DiscoveryStatus {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := natsx.Request[contracts.DiscoveryStatus](ctx, e.nc, contracts.APIDiscoveryStatus, contracts.DiscoveryStatusQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) sourceStatus(path string) contracts.SourceStatus {
	e.t.Helper()
	for _, s := range e.status().Sources {
		if s.Source == path {
			return s
		}
	}
	e.t.Fatalf("no status for %s", path)
	return contracts.SourceStatus{}
}

// tick advances the fake clock once the refresh loop waits on it, and
// waits until the round it started has run the source at path.
func (e *env) tick(clk *clock.Fake, d time.Duration, path string) {
	e.t.Helper()
	natstest.CheckFor(e.t, 5*time.Second, time.Millisecond, func() error {
		if clk.Waiters() == 0 {
			return fmt.Errorf("refresh loop not waiting")
		}
		return nil
	})
	clk.Advance(d)
	want := clk.Now()
	natstest.CheckFor(e.t, 10*time.Second, 5*time.Millisecond, func() error {
		if st := e.sourceStatus(path); st.LastRun == nil || st.LastRun.Before(want) {
			return fmt.Errorf("%s not run at %v yet", path, want)
		}
		// The loop waits on the clock again only when the round is over.
		if clk.Waiters() == 0 {
			return fmt.Errorf("round at %v still running", want)
		}
		return nil
	})
}

func hostNames(t *testing.T, e *env, name string) []string {
	t.Helper()
	envr, err := e.targets(contracts.TargetsQuery{Environment: name})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range envr.Hosts {
		out = append(out, h.Name)
	}
	return out
}

func TestSourcesRefreshAndKeepLastGood(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "inventory.sh")
	ini := filepath.Join(dir, "staging.ini")
	yamlPath := filepath.Join(dir, "inventory.yaml")
	install(t, "nested.sh", script)
	install(t, "hosts.ini", ini)
	yamlDoc := `
environments:
  - name: qa
    pool: blue
    params: {region: us-east, owner: team-a}
    hosts:
      - {name: qa-static-01, address: 10.9.0.1}
    sources:
      - {path: inventory.sh, interval: 1m, timeout: 300ms}
`
	writeAtomic(t, yamlPath, []byte(yamlDoc), 0o644)
	clk := clock.NewFake(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	iv := e.watchInventory()
	e.start(func(c *Config, d *service.Deps) {
		c.Inventory = nil
		c.InventoryPath = yamlPath
		c.Sources = []EnvSource{{Env: "staging", Path: ini}}
		c.SourceInterval = time.Hour
		c.ReloadInterval = 10 * time.Minute
		c.SourceMaxBytes = 1 << 20
		d.Clock = clk
	})

	// The first answers already hold the sources' hosts, with the YAML
	// environment's defaults under the group and host vars.
	if got, want := hostNames(t, e, "qa"), []string{"db-01", "qa-static-01", "web-01", "web-02"}; !slices.Equal(got, want) {
		t.Fatalf("qa hosts %v, want %v", got, want)
	}
	if got, want := hostNames(t, e, "staging"), []string{"bastion", "db-01", "web-01", "web-02"}; !slices.Equal(got, want) {
		t.Fatalf("staging hosts %v, want %v", got, want)
	}
	qa, err := e.targets(contracts.TargetsQuery{Environment: "qa"})
	if err != nil {
		t.Fatal(err)
	}
	web01 := qa.Hosts[2]
	if web01.Address != "10.0.0.11" || web01.Pool != "blue" || web01.Params["region"] != "eu-west" ||
		web01.Params["owner"] != "team-a" || web01.Params["tier"] != "host-web-01" || !slices.Equal(web01.Groups, []string{"east", "prod", "web"}) {
		t.Fatalf("web-01 = %+v", web01)
	}
	if st := e.sourceStatus(script); st.Kind != "script" || st.Hosts != 3 || st.Error != "" || st.Environment != "qa" {
		t.Fatalf("script status %+v", st)
	}

	// Each kind of bad output keeps the last good hosts, shows in the
	// status and raises an event.
	for _, bad := range []struct{ script, want string }{
		{"garbage.sh", "is not valid at line 1"},
		{"hang.sh", "did not finish in time"},
		{"big.sh", "output over the size limit"},
	} {
		install(t, bad.script, script)
		e.tick(clk, time.Minute, script)
		st := e.sourceStatus(script)
		if !strings.Contains(st.Error, bad.want) || st.Hosts != 3 || st.LastSuccess == nil || !st.LastSuccess.Before(*st.LastRun) {
			t.Fatalf("%s: status %+v, want error %q and the last good 3 hosts", bad.script, st, bad.want)
		}
		if got := hostNames(t, e, "qa"); len(got) != 4 {
			t.Fatalf("%s: qa hosts %v, want the last good ones", bad.script, got)
		}
	}
	iv.waitFor(t, "source_failed inventory.sh")
	if st := e.sourceStatus(script); st.Failures != 3 {
		t.Fatalf("failures %d, want 3", st.Failures)
	}

	// A good run again: the hosts it no longer lists go, those it adds
	// come, with events, and the status clears.
	install(t, "nometa.sh", script)
	e.tick(clk, time.Minute, script)
	if got, want := hostNames(t, e, "qa"), []string{"app-01", "app-02", "qa-static-01"}; !slices.Equal(got, want) {
		t.Fatalf("qa hosts %v, want %v", got, want)
	}
	if st := e.sourceStatus(script); st.Error != "" || st.Failures != 0 || st.Hosts != 2 {
		t.Fatalf("status %+v after a good run", st)
	}
	iv.waitFor(t, "host_added app-01")
	iv.waitFor(t, "host_removed web-01")

	// Editing the YAML file applies without a restart; a broken edit is
	// refused and keeps the last good file.
	writeAtomic(t, yamlPath, []byte(strings.Replace(yamlDoc, "{name: qa-static-01, address: 10.9.0.1}",
		"{name: qa-static-01, address: 10.9.0.2}\n      - {name: qa-static-02, address: 10.9.0.3}", 1)), 0o644)
	e.tick(clk, 10*time.Minute, yamlPath)
	if got, want := hostNames(t, e, "qa"), []string{"app-01", "app-02", "qa-static-01", "qa-static-02"}; !slices.Equal(got, want) {
		t.Fatalf("qa hosts after the edit %v, want %v", got, want)
	}
	iv.waitFor(t, "host_added qa-static-02")
	iv.waitFor(t, "host_changed qa-static-01")
	writeAtomic(t, yamlPath, []byte("environments:\n  - name: qa\n    hosts: 7\n"), 0o644)
	e.tick(clk, 10*time.Minute, yamlPath)
	if st := e.sourceStatus(yamlPath); !strings.Contains(st.Error, "environments[0].hosts: must be a list") || st.Failures != 1 {
		t.Fatalf("yaml status %+v", st)
	}
	if got := hostNames(t, e, "qa"); len(got) != 4 {
		t.Fatalf("qa hosts after a broken edit %v, want the last good ones", got)
	}
	iv.waitFor(t, "source_failed inventory.yaml")
}

// TestSourceConflictIsNotApplied: a source whose hosts clash with the YAML
// inventory's is refused whole, not merged in part.
func TestSourceConflictIsNotApplied(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	ini := filepath.Join(dir, "qa.ini")
	writeAtomic(t, ini, []byte("[web]\nfresh-01\nqa-web-01\n"), 0o644)
	e.start(func(c *Config, d *service.Deps) {
		c.Sources = []EnvSource{{Env: "qa", Path: ini}}
		d.Clock = clock.NewFake(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	})
	if got, want := hostNames(t, e, "qa"), []string{"qa-db-01", "qa-web-01", "qa-web-02"}; !slices.Equal(got, want) {
		t.Fatalf("qa hosts %v, want the YAML ones only", got)
	}
	if st := e.sourceStatus(ini); !strings.Contains(st.Error, `host "qa-web-01" is listed twice`) {
		t.Fatalf("status %+v", st)
	}
}

// TestParameterPrecedence: environment < all < parent group < child group
// < host, each level overriding the one below for the same key only.
func TestParameterPrecedence(t *testing.T) {
	e := newEnv(t)
	ini := filepath.Join(t.TempDir(), "qa.ini")
	writeAtomic(t, ini, []byte(`
[child]
p-01 host=host k5=host
[parent:children]
child
[all:vars]
all=all
k2=all
k3=all
k4=all
k5=all
[parent:vars]
parent=parent
k3=parent
k4=parent
k5=parent
[child:vars]
child=child
k4=child
k5=child
`), 0o644)
	e.start(func(c *Config, d *service.Deps) {
		c.Inventory = []byte("environments:\n  - name: qa\n    params: {env: env, k1: env, k2: env, k3: env, k4: env, k5: env}\n")
		c.Sources = []EnvSource{{Env: "qa", Path: ini}}
	})
	envr, err := e.targets(contracts.TargetsQuery{Environment: "qa"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"env": "env", "all": "all", "parent": "parent", "child": "child", "host": "host",
		"k1": "env", "k2": "all", "k3": "parent", "k4": "child", "k5": "host"}
	if len(envr.Hosts) != 1 || !reflect.DeepEqual(envr.Hosts[0].Params, want) {
		t.Fatalf("params %+v, want %v", envr.Hosts, want)
	}
}

// TestSourceOnlyEnvironmentDefaults: an environment that only a
// command-line source names takes the pool and driver given for sources.
func TestSourceOnlyEnvironmentDefaults(t *testing.T) {
	e := newEnv(t)
	ini := filepath.Join(t.TempDir(), "lab.ini")
	writeAtomic(t, ini, []byte("[web]\nlab-01 ansible_host=192.0.2.7\n"), 0o644)
	e.start(func(c *Config, d *service.Deps) {
		c.Inventory = nil
		c.Sources = []EnvSource{{Env: "lab", Path: ini}}
		c.SourcePool = "lab-pool"
		c.SourceDriver = &contracts.DriverSpec{Sim: &contracts.SimDriver{}}
	})
	envr, err := e.targets(contracts.TargetsQuery{Environment: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	if len(envr.Hosts) != 1 || envr.Hosts[0].Pool != "lab-pool" || envr.Hosts[0].Driver == nil || envr.Hosts[0].Driver.Sim == nil ||
		envr.Hosts[0].Address != "192.0.2.7" {
		t.Fatalf("hosts %+v", envr.Hosts)
	}
	if _, err := New(service.Deps{NC: e.nc, JS: e.js}, Config{DBPath: e.db, Sources: []EnvSource{{Env: "lab", Path: ini}}, SourcePool: "a.b"}); err == nil {
		t.Fatal("invalid source pool accepted")
	}
}
