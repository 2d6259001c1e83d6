package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func runHealthcheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := execute(ctx, append([]string{"healthcheck"}, args...), strings.NewReader(""), &out, &errOut)
	return code, errOut.String()
}

func TestHealthcheckExitsByStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if code, errOut := runHealthcheck(t, "--url", srv.URL+"/healthz"); code != 0 {
		t.Fatalf("healthy: code %d, stderr %q", code, errOut)
	}
	if code, errOut := runHealthcheck(t, "--url", srv.URL+"/other"); code != 1 || !strings.Contains(errOut, "status 503") {
		t.Fatalf("503: code %d, stderr %q", code, errOut)
	}

	// A port nobody listens on: a connection error, exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if code, errOut := runHealthcheck(t, "--url", "http://"+addr+"/healthz", "--timeout", "2s"); code != 1 || !strings.Contains(errOut, addr) {
		t.Fatalf("refused: code %d, stderr %q", code, errOut)
	}
	for _, bad := range []string{"", "ftp://x/", "http:///nohost", "::"} {
		if code, errOut := runHealthcheck(t, "--url", bad); code != 2 || !strings.Contains(errOut, "--url") {
			t.Fatalf("url %q: code %d, stderr %q", bad, code, errOut)
		}
	}
}
