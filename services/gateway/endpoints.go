package gateway

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rollwave/rollwave/contracts"
)

// Endpoints holds one go-kit endpoint per API operation.
type Endpoints struct {
	Deploy       endpoint.Endpoint
	Preview      endpoint.Endpoint
	ListRollouts endpoint.Endpoint
	GetRollout   endpoint.Endpoint
	Control      endpoint.Endpoint
	Inventory    endpoint.Endpoint
	ListWindows  endpoint.Endpoint
	AddWindow    endpoint.Endpoint
	RemoveWindow endpoint.Endpoint
	calendarEndpoints
	// DiscoveryStatus, Graph and History are in discovery.go.
	DiscoveryStatus endpoint.Endpoint
	Graph           endpoint.Endpoint
	History         endpoint.Endpoint
	// RolloutHistory is in rollouthistory.go, Promote in promote.go.
	RolloutHistory endpoint.Endpoint
	Promote        endpoint.Endpoint
}

// Request values of the endpoints that take more than a contract type.
type (
	getRolloutRequest struct{ ID string }
	controlRequest    struct {
		ID      string
		Verb    contracts.Verb
		Command contracts.ControlCommand
	}
	removeWindowRequest struct{ ID string }
)

// removed is the response of an endpoint that answers nothing but success.
type removed struct{}

// MakeEndpoints adapts api to endpoints, each bounded by timeout, with
// upstream failures classified and latency recorded.
func MakeEndpoints(api API, timeout time.Duration, m *metrics) Endpoints {
	wrap := func(op string, e endpoint.Endpoint) endpoint.Endpoint {
		return instrument(m, op)(classify(withTimeout(timeout)(e)))
	}
	return Endpoints{
		Deploy: wrap("deploy", func(ctx context.Context, req any) (any, error) {
			rc, err := api.Deploy(ctx, req.(contracts.DeployRequest))
			if err == nil {
				m.published.WithLabelValues(strconv.FormatBool(rc.Duplicate)).Inc()
			}
			return rc, err
		}),
		Preview: wrap("preview", func(ctx context.Context, req any) (any, error) {
			return api.Preview(ctx, req.(contracts.DeployRequest))
		}),
		ListRollouts: wrap("list_rollouts", func(ctx context.Context, req any) (any, error) {
			return api.ListRollouts(ctx, req.(contracts.RolloutListQuery))
		}),
		GetRollout: wrap("get_rollout", func(ctx context.Context, req any) (any, error) {
			return api.GetRollout(ctx, req.(getRolloutRequest).ID)
		}),
		Control: wrap("control", func(ctx context.Context, req any) (any, error) {
			r := req.(controlRequest)
			return api.Control(ctx, r.ID, r.Verb, r.Command)
		}),
		Inventory: wrap("inventory", func(ctx context.Context, req any) (any, error) {
			return api.Inventory(ctx, req.(contracts.InventoryQuery))
		}),
		DiscoveryStatus: wrap("discovery_status", func(ctx context.Context, _ any) (any, error) {
			return api.DiscoveryStatus(ctx)
		}),
		Graph: wrap("graph", func(ctx context.Context, req any) (any, error) {
			return api.Graph(ctx, req.(contracts.GraphQuery))
		}),
		History: wrap("history", func(ctx context.Context, req any) (any, error) {
			return api.History(ctx, req.(contracts.HistoryQuery))
		}),
		RolloutHistory: wrap("rollout_history", func(ctx context.Context, req any) (any, error) {
			return api.RolloutHistory(ctx, req.(contracts.RolloutHistoryQuery))
		}),
		Promote: wrap("promote", func(ctx context.Context, req any) (any, error) {
			res, err := api.Promote(ctx, req.(contracts.PromoteRequest))
			if err == nil && res.Receipt != nil {
				m.published.WithLabelValues(strconv.FormatBool(res.Receipt.Duplicate)).Inc()
			}
			return res, err
		}),
		ListWindows: wrap("list_windows", func(ctx context.Context, req any) (any, error) {
			return api.ListWindows(ctx, req.(contracts.WindowListQuery))
		}),
		AddWindow: wrap("add_window", func(ctx context.Context, req any) (any, error) {
			return api.AddWindow(ctx, req.(contracts.WindowInput))
		}),
		RemoveWindow: wrap("remove_window", func(ctx context.Context, req any) (any, error) {
			return removed{}, api.RemoveWindow(ctx, req.(removeWindowRequest).ID)
		}),
		calendarEndpoints: makeCalendarEndpoints(api, wrap),
	}
}

// withTimeout bounds an endpoint call; a caller's earlier deadline wins.
func withTimeout(d time.Duration) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, req)
		}
	}
}

// classify turns transport failures that natsx.Request leaves untyped into
// unavailable and timeout errors, so clients see 503/504 rather than 500.
func classify(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		resp, err := next(ctx, req)
		if err == nil {
			return resp, nil
		}
		var typed *contracts.Error
		if errors.As(err, &typed) {
			return resp, err
		}
		switch {
		case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected),
			errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrNoResponders):
			return resp, &wrapped{typed: contracts.Errorf(contracts.CodeUnavailable, "the message broker is unavailable"), err: err}
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			return resp, &wrapped{typed: contracts.Errorf(contracts.CodeTimeout, "no answer in time"), err: err}
		}
		return resp, err
	}
}

// instrument records each call's outcome code and latency.
func instrument(m *metrics, op string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) {
			timer := prometheus.NewTimer(m.opDuration.WithLabelValues(op))
			resp, err := next(ctx, req)
			timer.ObserveDuration()
			code := "ok"
			if err != nil {
				code = string(contracts.AsError(err).Code)
			}
			m.opTotal.WithLabelValues(op, code).Inc()
			return resp, err
		}
	}
}
