package natsx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// An answer too large for the server's max_payload comes back as an
// error naming the limit, at once, rather than as the caller's time-out.
func TestReplyAboveMaxPayloadIsAnError(t *testing.T) {
	s := natstest.RunServer(t)
	serverConn, nc := natstest.Connect(t, s), natstest.Connect(t, s)
	big := func(ctx context.Context, req any) (any, error) {
		return map[string]string{"blob": strings.Repeat("x", 2<<20)}, nil
	}
	subject := contracts.APISubject("test", "big")
	srv := natsx.NewServer(serverConn, "test")
	if err := srv.Handle(natsx.Handler{Subject: subject, Decode: natsx.DecodeJSONTolerant[map[string]string](), Endpoint: endpoint.Endpoint(big)}); err != nil {
		t.Fatal(err)
	}
	if err := serverConn.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := natsx.Request[map[string]string](ctx, nc, subject, map[string]string{})
	var e *contracts.Error
	if !errors.As(err, &e) || e.Code != contracts.CodeInvalid || !strings.Contains(e.Message, "max_payload of 1048576 bytes") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 15*time.Second {
		t.Fatal("the error came as a time-out")
	}
}
