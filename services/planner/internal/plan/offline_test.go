package plan

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestOfflinePolicy(t *testing.T) {
	seen := now.Add(-time.Minute)
	hs := hosts(4)
	hs[1].Liveness, hs[1].LastSeen = contracts.LivenessOffline, &seen // web-02
	hs[2].Liveness = contracts.LivenessOnline                         // web-03
	canary := contracts.PhaseSpec{Name: "canary", Hosts: []string{"web-02"}}
	rest := contracts.PhaseSpec{Name: "rest"}

	// The default fails, naming each offline target.
	_, err := Build(request(rest), env(hs), now)
	var fe contracts.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "offline" ||
		fe[0].Message != `host "web-02" is offline (last heard from 2026-11-26T11:59:00Z); set offline: exclude to leave offline hosts out` {
		t.Fatalf("fail policy: %v", err)
	}
	req := request(rest)
	req.Offline = contracts.OfflineFail
	if _, err := Build(req, env(hs), now); err == nil {
		t.Fatal("explicit fail policy planned an offline host")
	}

	// Exclude leaves offline hosts out; online and unknown hosts stay.
	req = request(rest)
	req.Offline = contracts.OfflineExclude
	p, err := Build(req, env(hs), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Phases[0].Batches; !reflect.DeepEqual(got, [][]string{{"web-01", "web-03", "web-04"}}) {
		t.Fatalf("batches %v", got)
	}
	if _, ok := p.Hosts["web-02"]; ok {
		t.Fatal("offline host in the plan")
	}

	// A phase of offline hosts only is refused under exclude.
	req = request(canary, rest)
	req.Offline = contracts.OfflineExclude
	if _, err := Build(req, env(hs), now); !errors.As(err, &fe) || fe[0].Field != "phases[0]" {
		t.Fatalf("empty phase: %v", err)
	}

	// Without offline hosts nothing changes; a bad policy is refused.
	if _, err := Build(request(rest), env(hosts(4)), now); err != nil {
		t.Fatal(err)
	}
	req = request(rest)
	req.Offline = "ignore"
	if _, err := Build(req, env(hs), now); !errors.As(err, &fe) || fe[0].Field != "offline" {
		t.Fatalf("bad policy: %v", err)
	}
}
