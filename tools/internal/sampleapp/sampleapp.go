// Package sampleapp is a tiny web service that `rollwave dev` deploys to its
// local exec hosts: Deploy replaces the running instance of one host with a
// new version and waits until it is healthy; Serve is the instance itself.
package sampleapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SupervisorEnv names the environment variable through which `rollwave dev`
// hands its pid to the instances it deploys: an instance outlives the deploy
// command by design, but never the dev process, even one killed with -9.
const SupervisorEnv = "ROLLWAVE_DEV_PID"

// supervisorPoll is how often an instance checks that its supervisor lives.
const supervisorPoll = 200 * time.Millisecond

// Serve answers /healthz with the version until ctx ends or, when
// supervisor is a pid, until that process is gone.
func Serve(ctx context.Context, addr, version string, supervisor int) error {
	if supervisor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go watchSupervisor(ctx, supervisor, cancel)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from version %s\n", version)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// watchSupervisor calls gone once pid no longer exists. An instance is
// re-parented when its supervisor dies, so signal 0 to the pid is the check.
func watchSupervisor(ctx context.Context, pid int, gone func()) {
	t := time.NewTicker(supervisorPoll)
	defer t.Stop()
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			gone()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deploy stops the instance recorded in dir (if any), starts exe with
// serveArgs as a new detached instance that outlives this process, records
// its pid, and waits until it answers /healthz on addr with version.
func Deploy(ctx context.Context, dir, addr, version, exe string, serveArgs []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	pidFile := filepath.Join(dir, "app.pid")
	if err := stopRecorded(pidFile); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "app.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, serveArgs...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: the instance must survive the deploy command
	// and the executor's process-group kill on time-out.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start instance: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("record pid: %w", err)
	}
	return waitHealthy(ctx, addr, version)
}

// Stop stops the instance recorded in dir.
func Stop(dir string) error { return stopRecorded(filepath.Join(dir, "app.pid")) }

func stopRecorded(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return os.Remove(pidFile)
	}
	p, err := os.FindProcess(pid)
	if err == nil && p.Signal(syscall.SIGTERM) == nil {
		// Wait until it is gone so its port is free for the new version.
		for i := 0; i < 100 && p.Signal(syscall.Signal(0)) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		_ = p.Signal(syscall.SIGKILL)
	}
	return os.Remove(pidFile)
}

func waitHealthy(ctx context.Context, addr, version string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			var body struct{ Version string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && body.Version == version {
				return nil
			}
			last = fmt.Errorf("healthz answered %d with version %q", resp.StatusCode, body.Version)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("instance on %s not healthy with version %s: %v", addr, version, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Route records the set the sample's traffic goes to in dir/active: the
// stand-in for a load balancer that a blue-green traffic step switches.
func Route(dir, target string) error {
	if dir == "" || target == "" {
		return errors.New("route needs --dir and --target")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, "active.tmp")
	if err := os.WriteFile(tmp, []byte(target+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, filepath.Join(dir, "active"))
}
