package main

import (
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
