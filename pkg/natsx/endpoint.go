package natsx

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
)

// Typed turns a typed service method into a go-kit endpoint.
func Typed[Req, Resp any](f func(context.Context, Req) (Resp, error)) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r, ok := req.(Req)
		if !ok {
			return nil, fmt.Errorf("endpoint got %T, want %T", req, r)
		}
		return f(ctx, r)
	}
}

// Gate lets a service's Stop wait for the requests in flight before it
// closes what they use (a database), and turns away requests that arrive
// after. The zero value is closed.
type Gate struct {
	mu   sync.RWMutex
	open bool
	// Service names the service in the error sent to turned-away callers.
	Service string
}

// Open starts admitting requests.
func (g *Gate) Open() {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
}

// Close stops admitting requests and waits for those in flight.
func (g *Gate) Close() {
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
}

// Middleware admits a request only while the gate is open.
func (g *Gate) Middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		g.mu.RLock()
		defer g.mu.RUnlock()
		if !g.open {
			return nil, contracts.Errorf(contracts.CodeUnavailable, "%s is stopping", g.Service)
		}
		return next(ctx, req)
	}
}

// CloseWithin closes the gate, waiting for the requests in flight at most
// until ctx ends.
func (g *Gate) CloseWithin(ctx context.Context) error {
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
