package executor

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// A check action (one measurement of an analysis step) runs its checks and
// not the driver: the program that would mark the host as deployed never
// runs, and the result says kind check and installed nothing.
func TestCheckActionRunsNoDriver(t *testing.T) {
	h := newHarness(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz/web-02" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(web.Close)
	h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{})

	marker := filepath.Join(t.TempDir(), "deployed")
	for _, host := range []string{"web-01", "web-02"} {
		a := action("r1", host, execDriver("append", marker))
		a.ID = contracts.MeasureActionID("r1", "analysis", host, 1)
		a.Kind = contracts.ActionCheck
		a.Checks = []contracts.NamedCheck{{Name: "healthz", Spec: contracts.CheckSpec{HTTP: &contracts.HTTPCheck{
			URL: web.URL + "/healthz/{{.Host.Name}}", Deadline: contracts.Duration(200 * time.Millisecond),
			Interval: contracts.Duration(20 * time.Millisecond)}}}}
		h.publish(t.Context(), contracts.DefaultPool, a, a.ID)
	}
	// The same driver in a deploy action does run.
	deployed := filepath.Join(t.TempDir(), "deployed")
	h.publish(t.Context(), contracts.DefaultPool, action("r1", "web-03", execDriver("append", deployed)), "deploy-web-03")
	got := h.waitResults("r1", 3, 10*time.Second)
	byHost := map[string]contracts.HostResult{}
	for _, r := range got {
		byHost[r.Host] = r.HostResult
	}
	ok, bad := byHost["web-01"], byHost["web-02"]
	if ok.Status != contracts.ResultSucceeded || ok.Kind != contracts.ActionCheck || ok.Installed || len(ok.Checks) != 1 {
		t.Fatalf("web-01 measurement %+v", ok)
	}
	if bad.Status != contracts.ResultFailed || bad.Kind != contracts.ActionCheck || bad.Installed || len(bad.Checks) != 1 {
		t.Fatalf("web-02 measurement %+v", bad)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the driver ran for a check action: %v", err)
	}
	if d := byHost["web-03"]; d.Status != contracts.ResultSucceeded || !d.Installed || d.Kind != contracts.ActionDeploy {
		t.Fatalf("deploy result %+v", d)
	}
	if _, err := os.Stat(deployed); err != nil {
		t.Fatalf("the deploy action's driver did not run: %v", err)
	}
}
