package calendar

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func TestWindowOpenedAndClosedAreAnnounced(t *testing.T) {
	e := newEnv(t)
	e.start()
	got := make(chan contracts.WindowEvent, 16)
	sub, err := e.nc.Subscribe(contracts.CalendarWindowWildcard(), func(m *nats.Msg) {
		var ev contracts.WindowEvent
		if err := json.Unmarshal(m.Data, &ev); err == nil && m.Subject == contracts.CalendarWindowSubject(ev.Type, ev.Window.ID) {
			got <- ev
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The calendar's clock stands at 2030-01-01T00:00Z.
	w := e.add(contracts.WindowInput{Environment: "production", Start: "2030-01-01T00:10:00Z", End: "2030-01-01T00:20:00Z", Reason: "db failover"})
	next := func() contracts.WindowEvent {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no announcement")
		}
		return contracts.WindowEvent{}
	}
	advanceTo := func(at time.Time) {
		// Wait until the announcer is parked on the clock, then move it.
		natstest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if e.clock.Waiters() < 2 {
				return fmt.Errorf("announcer not waiting")
			}
			return nil
		})
		e.clock.Set(at)
	}
	advanceTo(time.Date(2030, 1, 1, 0, 10, 0, 0, time.UTC))
	if ev := next(); ev.Type != contracts.WindowOpened || ev.Window.ID != w.ID || !ev.At.Equal(w.Start) {
		t.Fatalf("opened = %+v", ev)
	}
	advanceTo(time.Date(2030, 1, 1, 0, 25, 0, 0, time.UTC))
	if ev := next(); ev.Type != contracts.WindowClosed || ev.Window.ID != w.ID || !ev.At.Equal(w.End) {
		t.Fatalf("closed = %+v", ev)
	}
	select {
	case ev := <-got:
		t.Fatalf("unexpected announcement %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}
