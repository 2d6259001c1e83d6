package executor

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Traffic actions: an HTTP switch calls the URL with the target rendered
// and wants the status; an exec switch runs the operator's argv with the
// target rendered. Neither installs anything.
func TestTrafficActions(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	var calls []string
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/red") {
			w.WriteHeader(http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(lb.Close)
	h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{})

	traffic := func(id, target string, tr contracts.PlannedTraffic) contracts.HostAction {
		tr.Target = target
		a := action("r1", contracts.TrafficHost, contracts.DriverSpec{})
		a.ID, a.Kind, a.Traffic = id, contracts.ActionTraffic, &tr
		if tr.Exec != nil {
			a.Driver = contracts.DriverSpec{Exec: tr.Exec}
		}
		return a
	}
	web := contracts.PlannedTraffic{HTTP: &contracts.HTTPTraffic{Method: "PUT", URL: lb.URL + "/backends/{{.Target}}", Status: 204}}
	marker := filepath.Join(t.TempDir(), "switched")
	argv := execDriver("append", marker+"-{{.Target}}")
	for _, a := range []contracts.HostAction{
		traffic("r1/switch/_traffic/attempt-1", "green", web),
		traffic("r1/switch/_traffic/attempt-2", "red", web),
		traffic("r1/rollback/_traffic/attempt-1", "blue", contracts.PlannedTraffic{Exec: argv.Exec}),
	} {
		h.publish(t.Context(), contracts.DefaultPool, a, a.ID)
	}
	byID := map[string]contracts.HostResult{}
	for _, r := range h.waitResults("r1", 3, 10*time.Second) {
		byID[r.ActionID] = r.HostResult
	}
	if r := byID["r1/switch/_traffic/attempt-1"]; r.Status != contracts.ResultSucceeded || r.Kind != contracts.ActionTraffic || r.Installed {
		t.Fatalf("http switch %+v", r)
	}
	if r := byID["r1/switch/_traffic/attempt-2"]; r.Status != contracts.ResultFailed || !strings.Contains(r.Error, "answered 409, want 204") {
		t.Fatalf("refused switch %+v", r)
	}
	if r := byID["r1/rollback/_traffic/attempt-1"]; r.Status != contracts.ResultSucceeded || r.Installed {
		t.Fatalf("exec switch %+v", r)
	}
	if _, err := os.Stat(marker + "-blue"); err != nil {
		t.Fatalf("the exec switch did not run with its target: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[0] != "PUT /backends/green" && calls[1] != "PUT /backends/green" {
		t.Fatalf("calls %v", calls)
	}
}
