package check

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

// TestNATSCheck runs a small verification service on an embedded server:
// it answers what the test sets for each host, and records the requests.
func TestNATSCheck(t *testing.T) {
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	verifier := natstest.Connect(t, srv)

	var mu sync.Mutex
	answers := map[string]string{
		"web-01": `{"status":"pass"}`,
		"web-02": `{"status":"fail","reason":"error rate 4% over 1%"}`,
		"web-03": `{"status":"inconclusive","reason":"no traffic yet"}`,
		"web-04": `{"status":"pass","details":"x"}`,
		"web-05": `not json`,
	}
	var seen []contracts.VerificationRequest
	sub, err := verifier.Subscribe("verify.web", func(m *nats.Msg) {
		var req contracts.VerificationRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			t.Errorf("verifier got %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		seen = append(seen, req)
		answer := answers[req.Host.Name]
		mu.Unlock()
		if answer == "" {
			return // never answers
		}
		_ = m.Respond([]byte(answer))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := verifier.Flush(); err != nil {
		t.Fatal(err)
	}

	check := NATS{Conn: nc, Clock: &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	p, err := NATSSettings("nats", contracts.NATSCheck{Timeout: contracts.Duration(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	action := func(host string) contracts.HostAction {
		return contracts.HostAction{ID: "r1/canary/" + host + "/attempt-1", Rollout: "r1", Environment: "prod", App: "web", Version: "2.0.0",
			PreviousVersion: "1.9.0", Attempt: 1, Host: contracts.ActionHost{Name: host, Address: "10.0.0.1", Params: map[string]string{"port": "8080"}},
			Params: map[string]string{"region": "eu"}}
	}
	tests := []struct {
		host       string
		subject    string
		timeout    time.Duration
		wantStatus contracts.ResultStatus
		wantErr    string
	}{
		{host: "web-01", subject: "verify.web", wantStatus: contracts.ResultSucceeded},
		{host: "web-02", subject: "verify.web", wantStatus: contracts.ResultFailed, wantErr: "verifier on verify.web: fail: error rate 4% over 1%"},
		{host: "web-03", subject: "verify.web", wantStatus: contracts.ResultInconclusive, wantErr: "inconclusive: no traffic yet"},
		{host: "web-04", subject: "verify.web", wantStatus: contracts.ResultFailed, wantErr: "details: is not a known field"},
		{host: "web-05", subject: "verify.web", wantStatus: contracts.ResultFailed, wantErr: "other than a verification reply"},
		{host: "web-06", subject: "verify.web", timeout: 100 * time.Millisecond, wantStatus: contracts.ResultInconclusive, wantErr: "no answer on verify.web within 100ms"},
		{host: "web-01", subject: "verify.nobody", wantStatus: contracts.ResultInconclusive, wantErr: "no verifier answers verify.nobody"},
		{host: "web-01", subject: "rollwave.requests.deploy", wantStatus: contracts.ResultFailed, wantErr: "Rollwave's own subjects"},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.subject, func(t *testing.T) {
			pp := p
			if tt.timeout != 0 {
				pp.Timeout = tt.timeout
			}
			res := check.Run(context.Background(), "verify", tt.subject, action(tt.host), pp)
			if res.Status != tt.wantStatus || !strings.Contains(res.Error, tt.wantErr) || (tt.wantErr == "" && res.Error != "") {
				t.Fatalf("result %+v, want %s with %q", res, tt.wantStatus, tt.wantErr)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the verifier saw no request")
	}
	got := seen[0]
	want := contracts.VerificationRequest{Type: contracts.TypeVerificationRequest, Check: "verify", Rollout: "r1", Environment: "prod", App: "web",
		Version: "2.0.0", PreviousVersion: "1.9.0", ActionID: "r1/canary/web-01/attempt-1", Attempt: 1, Try: 1,
		Host:   contracts.VerificationHost{Name: "web-01", Address: "10.0.0.1", Params: map[string]string{"port": "8080"}},
		Params: map[string]string{"port": "8080", "region": "eu"}}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("request\n got %s\nwant %s", a, b)
	}
}

// Consecutive passes are counted over tries, each a new request with its
// try number.
func TestNATSCheckConsecutive(t *testing.T) {
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv)
	var tries []int
	var mu sync.Mutex
	sub, err := nc.Subscribe("rollwave.verify.web", func(m *nats.Msg) {
		var req contracts.VerificationRequest
		_ = json.Unmarshal(m.Data, &req)
		mu.Lock()
		tries = append(tries, req.Try)
		mu.Unlock()
		status := "pass"
		if req.Try == 2 {
			status = "fail"
		}
		_ = m.Respond([]byte(`{"status":"` + status + `"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	p, err := NATSSettings("nats", contracts.NATSCheck{Consecutive: 2, Deadline: contracts.Duration(time.Minute), Timeout: contracts.Duration(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	res := NATS{Conn: nc, Clock: &stepClock{}}.Run(context.Background(), "v", "rollwave.verify.web", contracts.HostAction{Rollout: "r1", Host: contracts.ActionHost{Name: "h"}}, p)
	mu.Lock()
	defer mu.Unlock()
	if res.Status != contracts.ResultSucceeded || res.Attempts != 4 || len(tries) != 4 || tries[3] != 4 {
		t.Fatalf("result %+v after tries %v", res, tries)
	}
}
