package demoapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, o Options) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, func(a string) { addrs <- a }) }()
	select {
	case a := <-addrs:
		return "http://" + a, cancel, done
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not listening after 30s")
	}
	return "", nil, nil
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestVersionAndHealth(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "app.pid")
	base, _, _ := start(t, Options{Version: "2.0.0", PidFile: pidFile})
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file: %q, %v", b, err)
	}
	if code, body, h := get(t, base+"/"); code != 200 || body != "hello from version 2.0.0\n" || h.Get("X-Version") != "2.0.0" {
		t.Fatalf("/: %d %q %v", code, body, h)
	}
	code, body, _ := get(t, base+"/healthz")
	var hz map[string]any
	if err := json.Unmarshal([]byte(body), &hz); err != nil || code != 200 || hz["status"] != "ok" || hz["version"] != "2.0.0" || hz["in_flight"] != 0.0 {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body, _ := get(t, base+"/version"); code != 200 || !strings.Contains(body, `"version":"2.0.0"`) {
		t.Fatalf("/version: %d %q", code, body)
	}
}

func TestBroken(t *testing.T) {
	base, _, _ := start(t, Options{Version: "4.0.0", Broken: true})
	if code, body, _ := get(t, base+"/"); code != 500 || !strings.Contains(body, "version 4.0.0 is broken") {
		t.Fatalf("/: %d %q", code, body)
	}
	if code, body, _ := get(t, base+"/healthz"); code != 503 || !strings.Contains(body, `"status":"broken"`) {
		t.Fatalf("/healthz: %d %q", code, body)
	}
}

// A stop lets the request in flight finish with 200, then the instance
// refuses new connections.
func TestShutdownDrainsInFlight(t *testing.T) {
	started := make(chan struct{}, 1)
	base, stop, done := start(t, Options{Version: "1.0.0", Delay: 500 * time.Millisecond, started: started})
	type answer struct {
		code int
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(base + "/")
		if err != nil {
			got <- answer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		got <- answer{code: resp.StatusCode}
	}()
	<-started // in flight: the handler waits its delay
	stop()
	a := <-got
	if a.err != nil || a.code != 200 {
		t.Fatalf("in-flight request: %d, %v; want 200", a.code, a.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("a stopped instance still answers")
	}
}
