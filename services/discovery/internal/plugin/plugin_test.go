package plugin

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func hosts(t *testing.T, path string, lim Limits) []contracts.Host {
	t.Helper()
	inv, err := Fetch(context.Background(), path, lim)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := inv.Hosts()
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func TestScriptWithNestedChildrenAndMeta(t *testing.T) {
	got := hosts(t, "testdata/nested.sh", Limits{})
	want := []contracts.Host{
		{Name: "db-01", Address: "10.0.0.21", Groups: []string{"db", "prod"},
			Params: map[string]string{"ansible_host": "10.0.0.21", "region": "eu-west", "tier": "prod", "replica": "false"}},
		// east is a child of web, a child of prod: prod, then web, then
		// east, then the host's own vars.
		{Name: "web-01", Address: "10.0.0.11", Groups: []string{"east", "prod", "web"},
			Params: map[string]string{"ansible_host": "10.0.0.11", "region": "eu-west", "tier": "host-web-01", "port": "8080"}},
		{Name: "web-02", Address: "10.0.0.12", Groups: []string{"prod", "web"},
			Params: map[string]string{"ansible_host": "10.0.0.12", "region": "eu-west", "tier": "web", "port": "8080", "tags": `["a","b"]`}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hosts:\n got %+v\nwant %+v", got, want)
	}
}

func TestScriptWithoutMetaIsAskedPerHost(t *testing.T) {
	got := hosts(t, "testdata/nometa.sh", Limits{})
	want := []contracts.Host{
		{Name: "app-01", Address: "192.0.2.1", Groups: []string{"app"}, Params: map[string]string{"ansible_host": "192.0.2.1", "port": "9000"}},
		{Name: "app-02", Address: "192.0.2.2", Groups: []string{"app"}, Params: map[string]string{"ansible_host": "192.0.2.2", "port": "9001"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hosts:\n got %+v\nwant %+v", got, want)
	}
}

func TestINIFile(t *testing.T) {
	got := hosts(t, "testdata/hosts.ini", Limits{})
	want := []contracts.Host{
		{Name: "bastion", Address: "203.0.113.5", Params: map[string]string{"ansible_host": "203.0.113.5", "tier": "all"}},
		{Name: "db-01", Address: "10.0.0.21", Groups: []string{"db", "prod"},
			Params: map[string]string{"ansible_host": "10.0.0.21", "tier": "prod", "region": "eu-west"}},
		{Name: "web-01", Address: "10.0.0.11", Groups: []string{"prod", "web"},
			Params: map[string]string{"ansible_host": "10.0.0.11", "tier": "host", "region": "eu-west", "port": "8080", "motd": "hello world"}},
		{Name: "web-02", Address: "10.0.0.12", Groups: []string{"prod", "web"},
			Params: map[string]string{"ansible_host": "10.0.0.12", "tier": "web", "region": "eu-west", "port": "8080"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hosts:\n got %+v\nwant %+v", got, want)
	}
}

func TestBadSources(t *testing.T) {
	for _, tc := range []struct {
		path string
		lim  Limits
		want string
		is   error
	}{
		{path: "testdata/garbage.sh", want: "--list output: is not valid at line 1"},
		{path: "testdata/fails.sh", want: "cannot reach the cloud API"},
		{path: "testdata/big.sh", lim: Limits{MaxBytes: 1 << 20}, is: ErrTooLarge},
		{path: "testdata/hosts.ini", lim: Limits{MaxBytes: 100}, is: ErrTooLarge},
		{path: "testdata/missing.sh", want: "no such file"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := Fetch(context.Background(), tc.path, tc.lim)
			if err == nil {
				t.Fatal("fetch succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestHangingScriptIsKilledAtTimeout(t *testing.T) {
	start := time.Now()
	_, err := Fetch(context.Background(), "testdata/hang.sh", Limits{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("error %v, want a time-out", err)
	}
	// The sleep child holds stdout open; without killing the whole group
	// Run would wait for it (WaitDelay) or for its 300 s.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("fetch took %v", d)
	}
}
