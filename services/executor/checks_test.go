package executor

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// TestActionWithEveryCheckKind runs host actions whose checks are a TCP
// port, a program and a verification service answering on the executor's
// own NATS server; an inconclusive verdict fails the host.
func TestActionWithEveryCheckKind(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	verifier := natstest.Connect(t, h.srv)
	sub, err := verifier.Subscribe("verify.web", func(m *nats.Msg) {
		var req contracts.VerificationRequest
		_ = json.Unmarshal(m.Data, &req)
		reply := `{"status":"pass"}`
		if req.Rollout == "r2" {
			reply = `{"status":"inconclusive","reason":"too little traffic on ` + req.Host.Name + `"}`
		}
		_ = m.Respond([]byte(reply))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := verifier.Flush(); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ex := h.start(Config{ID: "exec-1", AckWait: 5 * time.Second}, execOpts{metrics: reg})

	checks := []contracts.NamedCheck{
		{Name: "port", Spec: contracts.CheckSpec{TCP: &contracts.TCPCheck{Address: "{{.Host.Address}}:" + port}}},
		{Name: "smoke", Spec: contracts.CheckSpec{Command: &contracts.CommandCheck{Command: []string{sh, "-c", `[ "$1" = web-01 ] && [ "$ROLLWAVE_CHECK" = smoke ]`, "sh", "{{.Host.Name}}"}}}},
		{Name: "verify", Spec: contracts.CheckSpec{NATS: &contracts.NATSCheck{Subject: "verify.{{.App}}", Timeout: contracts.Duration(30 * time.Second)}}},
	}
	for _, rollout := range []string{"r1", "r2"} {
		a := action(rollout, "web-01", simDriver())
		a.Checks = checks
		h.publish(context.Background(), contracts.DefaultPool, a, rollout+"-msg")
	}

	ok := h.waitResults("r1", 1, 30*time.Second)[0]
	if ok.Status != contracts.ResultSucceeded || len(ok.Checks) != 3 {
		t.Fatalf("r1 = %+v", ok.HostResult)
	}
	for _, c := range ok.Checks {
		if c.Status != contracts.ResultSucceeded || c.Attempts != 1 {
			t.Fatalf("r1 check %+v", c)
		}
	}

	bad := h.waitResults("r2", 1, 30*time.Second)[0]
	if bad.Status != contracts.ResultFailed || !bad.Installed || len(bad.Checks) != 3 ||
		bad.Checks[2].Status != contracts.ResultInconclusive ||
		bad.Error != "check verify inconclusive: verifier on verify.web: inconclusive: too little traffic on web-01" {
		t.Fatalf("r2 = %+v", bad.HostResult)
	}
	// The scheduler's own validation takes the inconclusive check.
	if err := bad.HostResult.Validate(); err != nil {
		t.Fatalf("a result with an inconclusive check does not validate: %v", err)
	}
	if !strings.Contains(bad.Checks[2].Error, "too little traffic") {
		t.Fatalf("check error %q", bad.Checks[2].Error)
	}
	for _, c := range []struct {
		kind, status string
		want         float64
	}{{"tcp", "succeeded", 2}, {"command", "succeeded", 2}, {"nats", "succeeded", 1}, {"nats", "inconclusive", 1}} {
		if got := testutil.ToFloat64(ex.metrics.checks.WithLabelValues(c.kind, c.status)); got != c.want {
			t.Errorf("checks_total{kind=%q,status=%q} = %v, want %v", c.kind, c.status, got, c.want)
		}
	}
}
