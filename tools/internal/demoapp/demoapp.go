// Package demoapp is the web service of the zero-downtime demo: it reports
// its version, answers /healthz, drains the requests in flight when it is
// told to stop, and can be started broken for the canary that must roll
// back.
package demoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Options configure one instance.
type Options struct {
	Addr    string
	Version string
	// Broken answers every request with 500 and /healthz with 503.
	Broken bool
	// Delay is added to every request to /, so that requests are in
	// flight when a deploy stops the instance.
	Delay time.Duration
	// Grace bounds the drain of requests in flight at shutdown.
	Grace time.Duration
	Log   *slog.Logger
	// PidFile, when set, gets the process id once the instance listens,
	// for the stop of the next deploy.
	PidFile string
	// started, in tests, hears of each request to / as it begins.
	started chan<- struct{}
}

// Handler serves /, /version and /healthz for o.
// /healthz reports the requests to / in flight, so a test can signal a stop
// while one is.
func Handler(o Options) http.Handler {
	var inFlight atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		status := "ok"
		if o.Broken {
			status = "broken"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "version": o.Version, "in_flight": inFlight.Load()})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"version": o.Version})
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		if o.started != nil {
			o.started <- struct{}{}
		}
		if o.Delay > 0 {
			t := time.NewTimer(o.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		w.Header().Set("X-Version", o.Version)
		if o.Broken {
			http.Error(w, "version "+o.Version+" is broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from version %s\n", o.Version)
	})
	return mux
}

// Serve runs the instance until ctx ends, then stops accepting
// connections and waits up to o.Grace for the requests in flight.
// ready, when not nil, gets the address once the instance listens.
func Serve(ctx context.Context, o Options, ready func(addr string)) error {
	if o.Version == "" {
		return errors.New("demo app: a version is required")
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("demo app: listen on %s: %w", o.Addr, err)
	}
	srv := &http.Server{Handler: Handler(o), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if o.PidFile != "" {
		if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			_ = srv.Close()
			return fmt.Errorf("demo app: write pid file: %w", err)
		}
	}
	o.Log.Info("demo app serving", "addr", ln.Addr().String(), "version", o.Version, "broken", o.Broken)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return fmt.Errorf("demo app: %w", err)
	case <-ctx.Done():
	}
	o.Log.Info("demo app draining", "grace", o.Grace)
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("demo app: drain: %w", err)
	}
	<-done
	return nil
}
