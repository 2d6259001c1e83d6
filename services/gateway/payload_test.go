package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// A request listing 100,000 hosts does not fit the stock 1 MB max_payload:
// it is refused with 413, naming the limit, before anything is published.
func TestDeployRequestAboveMaxPayload(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	hosts := make([]string, 100000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("web-%06d", i)
	}
	req := contracts.DeployRequest{ID: "r1", App: "web", Version: "1.0.0", Environment: "prod",
		Phases: []contracts.PhaseSpec{{Name: "all", Hosts: hosts}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, req.ID, Source, req.ID, time.Now(), req)
	if err != nil {
		t.Fatal(err)
	}
	err = fitsPayload(nc, m)
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusRequestEntityTooLarge || contracts.AsError(he.err).Code != codeTooLarge ||
		!strings.Contains(err.Error(), "max_payload of 1048576 bytes") {
		t.Fatalf("err = %v", err)
	}
	req.Phases[0].Hosts = hosts[:10]
	m, err = natsx.EnvelopeMsg(ctx, contracts.SubjectDeployRequest, contracts.TypeDeployRequest, req.ID, Source, req.ID, time.Now(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := fitsPayload(nc, m); err != nil {
		t.Fatalf("small request: %v", err)
	}
}
