package demoapp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a demo app process that stops on SIGTERM,
// as `rollwave demo-app` does.
func TestMain(m *testing.M) {
	if os.Getenv("DEMOAPP_TEST_SERVE") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		err := Serve(ctx, Options{Addr: "127.0.0.1:0", Version: "1.0.0", Delay: 3 * time.Second}, func(addr string) {
			os.Stdout.WriteString(addr + "\n")
		})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// SIGTERM to a real process with a request in flight: the request ends
// with 200, then the process exits 0.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DEMOAPP_TEST_SERVE=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no address from the app: %v", err)
	}
	addr = strings.TrimSpace(addr)
	type answer struct {
		code int
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- answer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		got <- answer{code: resp.StatusCode}
	}()
	// Signal once the app counts the request in flight (it waits 3s).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var hz struct {
			InFlight int `json:"in_flight"`
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&hz)
			_ = resp.Body.Close()
			if hz.InFlight == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request to / never was in flight: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-got
	if a.err != nil || a.code != 200 {
		t.Fatalf("request in flight at SIGTERM: %d, %v; want 200", a.code, a.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("app exit: %v", err)
	}
}
