package discovery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
	"github.com/rollwave/rollwave/pkg/service"
)

func TestDriftAndHistory(t *testing.T) {
	e := newEnv(t)
	clk := clock.NewFake(finished.Add(time.Hour))
	e.start(func(_ *Config, d *service.Deps) { d.Clock = clk })
	e.publish("qa", "r-1", "qa-web-01", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r-1", "qa-web-02", "web", "1.0.0", contracts.ResultSucceeded, finished)
	e.publish("qa", "r-2", "qa-web-01", "web", "1.1.0", contracts.ResultSucceeded, finished.Add(time.Minute))
	e.publish("qa", "r-2", "qa-web-02", "web", "1.1.0", contracts.ResultSucceeded, finished.Add(time.Minute))
	a := &announcer{e: e, clk: clk}
	a.announce(contracts.AgentAnnouncement{Host: "qa-web-01", Environment: "qa", Versions: map[string]string{"web": "1.0.0"}})
	a.announce(contracts.AgentAnnouncement{Host: "qa-web-02", Environment: "qa", Versions: map[string]string{"web": "1.1.0"}})
	a.announce(contracts.AgentAnnouncement{Host: "qa-db-01", Environment: "qa", Versions: map[string]string{"db": "5.0.0"}})

	var inv contracts.Inventory
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		var err error
		inv, err = e.inventory(contracts.InventoryQuery{Environment: "qa"})
		if err != nil {
			return err
		}
		got := map[string]contracts.HostVersion{}
		for _, h := range inv.Environments[0].Hosts {
			for app, v := range h.Versions {
				got[h.Name+"/"+app] = v
			}
		}
		w1, w2, db := got["qa-web-01/web"], got["qa-web-02/web"], got["qa-db-01/db"]
		switch {
		case w1.Version != "1.1.0" || w1.Reported != "1.0.0" || !w1.Drift:
			return fmt.Errorf("qa-web-01 web %+v, want drift 1.1.0 vs 1.0.0", w1)
		case w2.Version != "1.1.0" || w2.Reported != "1.1.0" || w2.Drift:
			return fmt.Errorf("qa-web-02 web %+v, want no drift", w2)
		case db.Version != "" || db.Reported != "5.0.0" || db.Drift:
			return fmt.Errorf("qa-db-01 db %+v, want reported only", db)
		}
		return nil
	})
	// Targets of one app carry drift for that app only.
	tg, err := e.targets(contracts.TargetsQuery{Environment: "qa", App: "web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range tg.Hosts {
		if _, ok := h.Versions["db"]; ok {
			t.Fatalf("targets for web carry db: %+v", h)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hist, err := natsx.Request[contracts.History](ctx, e.nc, contracts.APIDiscoveryHistory, contracts.HistoryQuery{Environment: "qa", Host: "qa-web-01"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Entries) != 2 || hist.Entries[0].Version != "1.1.0" || hist.Entries[0].Rollout != "r-2" || hist.Entries[1].Version != "1.0.0" {
		t.Fatalf("history %+v", hist.Entries)
	}
	hist, err = natsx.Request[contracts.History](ctx, e.nc, contracts.APIDiscoveryHistory, contracts.HistoryQuery{App: "web", Limit: 3})
	if err != nil || len(hist.Entries) != 3 {
		t.Fatalf("history limit 3: %+v %v", hist.Entries, err)
	}
	if _, err := natsx.Request[contracts.History](ctx, e.nc, contracts.APIDiscoveryHistory, contracts.HistoryQuery{Limit: 5000}); err == nil {
		t.Fatal("limit 5000 accepted")
	}
}
