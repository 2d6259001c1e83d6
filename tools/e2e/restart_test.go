package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/scheduler"
)

// startScheduler runs a scheduler outside the stack so a test can stop and
// restart it on the same database.
func startScheduler(t *testing.T, h *harness, dir string) *scheduler.Service {
	t.Helper()
	s, err := scheduler.New(service.Deps{
		NC: h.st.NC, JS: h.st.JS, Log: slog.New(slog.DiscardHandler), Clock: clock.Real{},
	}, scheduler.Config{DBPath: filepath.Join(dir, "scheduler.db"), TickInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}
