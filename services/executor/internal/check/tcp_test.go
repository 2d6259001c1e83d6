package check

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			_ = c.Close()
		}
	}()
	open := ln.Addr().String()
	// A port that was just listened on and closed refuses connections.
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.Addr().String()
	_ = gone.Close()
	t.Cleanup(func() { _ = ln.Close() })

	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tcp := TCP{Clock: clk}
	p, err := TCPSettings("tcp", contracts.TCPCheck{Consecutive: 2})
	if err != nil {
		t.Fatal(err)
	}
	res := tcp.Run(context.Background(), "db", open, p)
	if res.Status != contracts.ResultSucceeded || res.Attempts != 2 || res.Name != "db" {
		t.Fatalf("open port: %+v", res)
	}
	for range 2 {
		select {
		case <-accepted:
		case <-time.After(30 * time.Second):
			t.Fatal("the listener saw no connection")
		}
	}

	p, _ = TCPSettings("tcp", contracts.TCPCheck{Deadline: contracts.Duration(3 * time.Second)})
	res = tcp.Run(context.Background(), "db", closed, p)
	if res.Status != contracts.ResultFailed || res.Attempts != 4 || !strings.Contains(res.Error, "connection refused") ||
		!strings.Contains(res.Error, "deadline 3s passed after 4 attempts") {
		t.Fatalf("closed port: %+v", res)
	}

	res = tcp.Run(context.Background(), "db", "no-port", p)
	if res.Status != contracts.ResultFailed || !strings.Contains(res.Error, "must be host:port") || res.Attempts != 0 {
		t.Fatalf("bad address: %+v", res)
	}
}

func TestTCPSettingsDefaults(t *testing.T) {
	p, err := TCPSettings("checks[0].spec.tcp", contracts.TCPCheck{})
	if want := (Polling{Consecutive: 1, Interval: time.Second, Timeout: 2 * time.Second, Deadline: time.Minute}); err != nil || p != want {
		t.Fatalf("defaults = %+v, %v", p, err)
	}
	if _, err := TCPSettings("checks[0].spec.tcp", contracts.TCPCheck{Timeout: -1}); err == nil || !strings.Contains(err.Error(), "checks[0].spec.tcp.timeout") {
		t.Fatalf("negative timeout: %v", err)
	}
}

// An inconclusive last try makes the check inconclusive; one conclusive
// failure at the end makes it failed.
func TestPollInconclusive(t *testing.T) {
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	script := func(statuses ...contracts.ResultStatus) tryFunc {
		return func(_ context.Context, n int) (contracts.ResultStatus, string) {
			s := statuses[min(n, len(statuses))-1]
			return s, "try " + string(s)
		}
	}
	once := Polling{Consecutive: 1, Interval: time.Second}
	if r := poll(context.Background(), clk, "c", once, script(contracts.ResultInconclusive)); r.Status != contracts.ResultInconclusive || r.Error != "try inconclusive" || r.Attempts != 1 {
		t.Fatalf("one inconclusive try: %+v", r)
	}
	if r := poll(context.Background(), clk, "c", once, script(contracts.ResultFailed)); r.Status != contracts.ResultFailed || r.Error != "try failed" {
		t.Fatalf("one failed try: %+v", r)
	}
	three := Polling{Consecutive: 1, Interval: time.Second, Deadline: 2 * time.Second}
	if r := poll(context.Background(), clk, "c", three, script(contracts.ResultInconclusive, contracts.ResultInconclusive, contracts.ResultFailed)); r.Status != contracts.ResultFailed || r.Attempts != 3 {
		t.Fatalf("ends failed: %+v", r)
	}
	if r := poll(context.Background(), clk, "c", three, script(contracts.ResultFailed, contracts.ResultInconclusive)); r.Status != contracts.ResultInconclusive || !strings.Contains(r.Error, "last: try inconclusive") {
		t.Fatalf("ends inconclusive: %+v", r)
	}
	if r := poll(context.Background(), clk, "c", three, script(contracts.ResultInconclusive, contracts.ResultSucceeded)); r.Status != contracts.ResultSucceeded || r.Attempts != 2 {
		t.Fatalf("passes later: %+v", r)
	}
}
