package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/discovery"
)

func TestDiscoveryStatusCommand(t *testing.T) {
	a := startAPI(t)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ok := at.Add(-time.Minute)
	a.respond(contracts.APIDiscoveryStatus, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.DiscoveryStatus{Sources: []contracts.SourceStatus{
			{Source: "/etc/rollwave/inventory.yaml", Kind: "yaml", LastRun: &at, LastSuccess: &at},
			{Environment: "qa", Source: "/etc/ansible/ec2.py", Kind: "script", LastRun: &at, LastSuccess: &ok, Hosts: 12, Failures: 1,
				Error: "--list output: is not valid at line 1"},
		}}, nil
	})
	code, out, errOut := a.run("discovery", "status")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"-            yaml    /etc/rollwave/inventory.yaml  -      2026-12-01T10:00:00Z",
		"qa           script  /etc/ansible/ec2.py           12     2026-12-01T10:00:00Z  2026-12-01T09:59:00Z  1         --list output: is not valid at line 1",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}

func TestInventoryArgs(t *testing.T) {
	y, srcs, err := inventoryArgs([]string{"qa=./hosts.ini", "inventory.yaml", "production=/opt/ec2.py", " "})
	want := []discovery.EnvSource{{Env: "qa", Path: "./hosts.ini"}, {Env: "production", Path: "/opt/ec2.py"}}
	if err != nil || y != "inventory.yaml" || !reflect.DeepEqual(srcs, want) {
		t.Fatalf("got %q %v %v", y, srcs, err)
	}
	// A path with '=' but no environment token before it is a YAML file.
	if y, _, err := inventoryArgs([]string{"./a=b.yaml"}); err != nil || y != "./a=b.yaml" {
		t.Fatalf("got %q %v", y, err)
	}
	for _, bad := range [][]string{{"a.yaml", "b.yaml"}, {"qa="}} {
		if _, _, err := inventoryArgs(bad); err == nil {
			t.Errorf("inventoryArgs(%q) accepted", bad)
		}
	}
	if got := inventoryDefault("qa=a.ini, inv.yaml,"); !reflect.DeepEqual(got, []string{"qa=a.ini", "inv.yaml"}) {
		t.Fatalf("inventoryDefault = %q", got)
	}
}

func TestInventoryMatrix(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APIDiscoveryInventory, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.Inventory{Environments: []contracts.Environment{{Name: "prod", Hosts: []contracts.Host{
			{Name: "web-01", Address: "10.0.0.1", Liveness: contracts.LivenessOnline, Versions: map[string]contracts.HostVersion{
				"web": {Version: "2.4.0", Reported: "2.3.0", Drift: true}, "api": {Version: "3.1.0"}}},
			{Name: "web-02", Address: "10.0.0.2", Liveness: contracts.LivenessOffline, Versions: map[string]contracts.HostVersion{
				"web": {Reported: "2.4.0"}}},
		}}}}, nil
	})
	code, out, errOut := a.run("inventory")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"ENVIRONMENT  HOST    ADDRESS   GROUPS  POOL     LIVENESS  API    WEB",
		"prod         web-01  10.0.0.1  -       default  online    3.1.0  2.4.0 DRIFT(reports 2.3.0)",
		"prod         web-02  10.0.0.2  -       default  OFFLINE   -      ?(reports 2.4.0)",
		"1 drifted, 1 offline",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
	code, out, _ = a.run("inventory", "--app", "api")
	if code != 0 || strings.Contains(out, "WEB") || !strings.Contains(out, "3.1.0") {
		t.Fatalf("--app api: code %d, out:\n%s", code, out)
	}
}

func TestGraphCommand(t *testing.T) {
	a := startAPI(t)
	got := make(chan contracts.GraphQuery, 4)
	a.respond(contracts.APIPlannerGraph, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.GraphQuery
		_ = json.Unmarshal(m.Data, &q)
		got <- q
		return contracts.DependencyGraph{Environment: q.Environment, DOT: "digraph \"x\" {}\n", Mermaid: "flowchart LR\n"}, nil
	})
	web := writeSpec(t, "app: web\nversion: 2.4.1\nenvironment: production\nphases: [{name: all}]\nrequires: [{app: api, version: \">=3.2.0 <4.0.0\"}]\n")
	api := writeSpec(t, "app: api\nversion: 3.4.0\nenvironment: production\nphases: [{name: all}]\n")
	code, out, errOut := a.run("graph", "-f", web, "-f", api)
	if code != 0 || out != "digraph \"x\" {}\n" {
		t.Fatalf("dot: code %d, out %q, stderr %q", code, out, errOut)
	}
	q := <-got
	if q.Environment != "production" || len(q.Apps) != 2 || q.Apps[0].Requires[0].Version != ">=3.2.0 <4.0.0" || q.Apps[1].App != "api" {
		t.Fatalf("query %+v", q)
	}
	code, out, _ = a.run("graph", "-f", web, "--env", "qa", "--format", "mermaid")
	if code != 0 || out != "flowchart LR\n" || (<-got).Environment != "qa" {
		t.Fatalf("mermaid: code %d, out %q", code, out)
	}
	if code, _, _ := a.run("graph", "-f", web, "--format", "png"); code != exitUsage {
		t.Fatalf("--format png: code %d", code)
	}
	if code, _, _ := a.run("graph"); code != exitUsage {
		t.Fatalf("no spec and no env: code %d", code)
	}
	// --env alone asks for what the environment was given.
	code, out, _ = a.run("graph", "--env", "production")
	if q := <-got; code != 0 || out != "digraph \"x\" {}\n" || q.Environment != "production" || len(q.Apps) != 0 {
		t.Fatalf("env only: code %d, out %q, query %+v", code, out, q)
	}
}

func TestInventoryHistoryCommand(t *testing.T) {
	a := startAPI(t)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	got := make(chan contracts.HistoryQuery, 1)
	a.respond(contracts.APIDiscoveryHistory, func(m *nats.Msg) (any, *contracts.Error) {
		var q contracts.HistoryQuery
		_ = json.Unmarshal(m.Data, &q)
		got <- q
		return contracts.History{Entries: []contracts.HistoryEntry{{Environment: "prod", Host: "web-01", App: "web", Version: "2.4.1", Rollout: "r-2", At: at}}}, nil
	})
	code, out, errOut := a.run("inventory", "history", "--env", "prod", "--host", "web-01", "--limit", "5")
	if code != 0 || !strings.Contains(out, "2026-12-01T10:00:00Z  prod         web-01  web  2.4.1    r-2") {
		t.Fatalf("code %d, out:\n%s\nstderr %q", code, out, errOut)
	}
	if q := <-got; q != (contracts.HistoryQuery{Environment: "prod", Host: "web-01", Limit: 5}) {
		t.Fatalf("query %+v", q)
	}
}

func TestSourceDriverFlag(t *testing.T) {
	d, err := sourceDriver(`{"sim":{"median":"10ms"}}`)
	if err != nil || d == nil || d.Sim == nil {
		t.Fatalf("sim: %+v %v", d, err)
	}
	if d, err := sourceDriver(""); d != nil || err != nil {
		t.Fatalf("empty: %+v %v", d, err)
	}
	for _, bad := range []string{`{"sim":{},"exec":{"command":["x"]}}`, `{"ssh":{}}`, `{"telnet":{}}`, `not json`} {
		if _, err := sourceDriver(bad); err == nil {
			t.Errorf("sourceDriver(%s) accepted", bad)
		}
	}
}

func TestInventoryMarksUnverifiedVersions(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APIDiscoveryInventory, func(*nats.Msg) (any, *contracts.Error) {
		return contracts.Inventory{Environments: []contracts.Environment{{Name: "prod", Hosts: []contracts.Host{
			{Name: "web-01", Address: "10.0.0.1", Versions: map[string]contracts.HostVersion{"web": {Version: "2.4.1", Unverified: true}}},
		}}}}, nil
	})
	code, out, errOut := a.run("inventory")
	if code != 0 || !strings.Contains(out, "2.4.1 UNVERIFIED(check failed)") {
		t.Fatalf("code %d, stderr %q, out:\n%s", code, errOut, out)
	}
}
