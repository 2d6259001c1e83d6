package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/pkg/natstest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := execute(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestArtifactPushAndList(t *testing.T) {
	srv := natstest.RunServer(t)
	url := srv.ClientURL()
	dir := t.TempDir()
	file := filepath.Join(dir, "web.tar.gz")
	content := []byte("pretend tarball")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])

	code, out, errOut := runCLI(t, "artifact", "push", "--nats", url, "web", "1.2.0", file)
	if code != 0 || !strings.Contains(out, "pushed web@1.2.0: 15 bytes, sha256 "+digest) {
		t.Fatalf("push: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "artifact", "push", "--nats", url, "api", "0.9.0", file); code != 0 {
		t.Fatalf("push api: %d", code)
	}
	code, out, errOut = runCLI(t, "artifact", "ls", "--nats", url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "APP") ||
		!strings.HasPrefix(lines[1], "api ") || !strings.HasPrefix(lines[2], "web ") || !strings.Contains(lines[2], digest) {
		t.Fatalf("ls: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "-o", "json", "artifact", "ls", "--nats", url, "web")
	var list []struct {
		App, Version, Digest string
		Size                 int
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("ls -o json: %d %q %v", code, out, err)
	}
	if len(list) != 1 || list[0].Version != "1.2.0" || list[0].Digest != digest || list[0].Size != len(content) {
		t.Fatalf("ls -o json: %+v", list)
	}

	// Bad names are refused naming the field; so is other content under a
	// pushed version.
	code, _, errOut = runCLI(t, "artifact", "push", "--nats", url, "web", "1;touch x", file)
	if code != exitFailed || !strings.Contains(errOut, "version") {
		t.Fatalf("bad version: %d %q", code, errOut)
	}
	if err := os.WriteFile(file, []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "artifact", "push", "--nats", url, "web", "1.2.0", file)
	if code != exitFailed || !strings.Contains(errOut, "different content") {
		t.Fatalf("overwrite: %d %q", code, errOut)
	}
	// --replicas reaches the server when the bucket is created: a single
	// server refuses three.
	srv2 := natstest.RunServer(t)
	code, _, errOut = runCLI(t, "artifact", "push", "--nats", srv2.ClientURL(), "--replicas", "3", "web", "1.2.0", file)
	if code != exitFailed || !strings.Contains(errOut, "create bucket rollwave-artifacts") || !strings.Contains(strings.ToLower(errOut), "replicas") {
		t.Fatalf("--replicas 3 on one server: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "artifact", "push", "--nats", url, "web"); code != exitUsage {
		t.Fatalf("missing args: %d", code)
	}
}
