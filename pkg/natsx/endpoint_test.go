package natsx_test

import (
	"context"
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func TestGateAdmitsOnlyWhileOpenAndWaitsOnClose(t *testing.T) {
	double := natsx.Typed(func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	g := &natsx.Gate{Service: "calendar"}
	ep := g.Middleware(double)
	ctx := context.Background()
	if _, err := ep(ctx, 1); !contracts.IsCode(err, contracts.CodeUnavailable) || err.Error() != "calendar is stopping" {
		t.Fatalf("closed gate: %v", err)
	}
	g.Open()
	if got, err := ep(ctx, 21); err != nil || got != 42 {
		t.Fatalf("open gate: %v, %v", got, err)
	}
	if _, err := ep(ctx, "x"); err == nil {
		t.Fatal("wrong request type accepted")
	}
	// A request in flight holds Close until it returns.
	entered, release, closed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slow := g.Middleware(func(context.Context, any) (any, error) { close(entered); <-release; return nil, nil })
	go func() { _, _ = slow(ctx, nil) }()
	<-entered
	go func() { g.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a request was in flight")
	default:
	}
	close(release)
	<-closed
	if _, err := ep(ctx, 1); !contracts.IsCode(err, contracts.CodeUnavailable) {
		t.Fatalf("after Close: %v", err)
	}
}
