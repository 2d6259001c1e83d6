package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

const appsSpec = `environment: qa
apps:
  - {app: web, version: 2.4.1, requires: [{app: api, version: ">=3.2.0 <4.0.0"}]}
  - {app: api, version: 3.2.0}
phases: [{name: all, batch: 1}]
`

// TestDeployApplicationsFollowsEachInOrder: the CLI prints the rollouts a
// multi-application request becomes and --wait follows them in order,
// stopping at the first that does not complete.
func TestDeployApplicationsFollowsEachInOrder(t *testing.T) {
	a := startAPI(t)
	a.respond(contracts.APIPlannerClaim, func(m *nats.Msg) (any, *contracts.Error) {
		var req contracts.DeployRequest
		_ = json.Unmarshal(m.Data, &req)
		return contracts.ClaimReply{Rollout: req.ID, Rollouts: []string{req.ID + "-api", req.ID + "-web"}}, nil
	})
	a.publishRollout("m1-api", contracts.StateCompleted)
	a.publishRollout("m1-web", contracts.StateCompleted)
	a.publishRollout("m2-api", contracts.StateFailed)

	code, out, errOut := a.run("deploy", "-f", writeSpec(t, appsSpec), "--id", "m1")
	if code != 0 || out != "m1-api\nm1-web\n" {
		t.Fatalf("deploy: code %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = a.run("deploy", "-f", writeSpec(t, appsSpec), "--id", "m1", "--wait")
	if code != 0 || strings.Count(out, "completed") < 2 || strings.Index(out, "m1-api") > strings.Index(out, "m1-web") {
		t.Fatalf("wait: code %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = a.run("deploy", "-f", writeSpec(t, appsSpec), "--id", "m2", "--wait")
	if code != exitFailed || !strings.Contains(errOut, "rollout m2-api failed") || strings.Contains(errOut, "m2-web") {
		t.Fatalf("failed: code %d, out %q, stderr %q", code, out, errOut)
	}
}
