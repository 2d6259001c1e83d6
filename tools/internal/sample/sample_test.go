package sample

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

var localAddr = regexp.MustCompile(`address: 127\.0\.0\.1:(\d+), groups: \[local\], params: \{port: "(\d+)"\}`)

// localPorts returns the ports of the local hosts of an inventory.
func localPorts(t *testing.T, inv []byte) []int {
	t.Helper()
	var ports []int
	for _, m := range localAddr.FindAllSubmatch(inv, -1) {
		if string(m[1]) != string(m[2]) {
			t.Fatalf("address port %s and param port %s differ", m[1], m[2])
		}
		p, _ := strconv.Atoi(string(m[1]))
		ports = append(ports, p)
	}
	return ports
}

// Sample apps get ports free when the inventory is written: none in use
// (by another program, or another checkout's running sample apps), none
// twice; a restart keeps the ports it wrote.
func TestSampleAppsOnFreePorts(t *testing.T) {
	// A port taken by something else is never handed out.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port

	read := func(p string) []byte {
		t.Helper()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b := t.TempDir(), t.TempDir()
	invA, _, err := Files(a, "/bin/rollwave")
	if err != nil {
		t.Fatal(err)
	}
	pa := localPorts(t, read(invA))
	// The first checkout's sample apps run: the second one's inventory,
	// written now, must not use their ports.
	for _, p := range pa {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d of the inventory is not free: %v", p, err)
		}
		defer l.Close()
	}
	invB, _, err := Files(b, "/bin/rollwave")
	if err != nil {
		t.Fatal(err)
	}
	pb := localPorts(t, read(invB))
	if len(pa) != LocalHosts || len(pb) != LocalHosts {
		t.Fatalf("local hosts: %v and %v, want %d each", pa, pb, LocalHosts)
	}
	for _, p := range append(slices.Clone(pa), pb...) {
		if p == taken {
			t.Fatalf("port %d, in use, was handed out", p)
		}
	}
	for _, p := range pb {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d of the second inventory is not free: %v", p, err)
		}
		l.Close()
	}
	slices.Sort(pa)
	if len(slices.Compact(pa)) != LocalHosts {
		t.Fatalf("one inventory has a port twice: %v", pa)
	}
	for _, p := range pb {
		if slices.Contains(pa, p) {
			t.Fatalf("two checkouts share port %d: %v and %v", p, pa, pb)
		}
	}
	// The inventory is written once: a restart keeps its ports.
	before := read(invA)
	if _, _, err := Files(a, "/bin/rollwave"); err != nil {
		t.Fatal(err)
	}
	if after := read(filepath.Join(a, "inventory.yaml")); string(after) != string(before) {
		t.Fatal("a second start rewrote the inventory")
	}
}

// TestRepositoryExamplesMatch keeps the repository's examples/ the same as
// the specs `rollwave dev` writes to data/examples, so that
// `rollwave deploy -f examples/<name>.yaml` from a checkout deploys what the
// sample inventory was written for.
func TestRepositoryExamplesMatch(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "examples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(specs) {
		t.Errorf("examples/ holds %d files, the sample writes %d", len(entries), len(specs))
	}
	for name, body := range specs {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("examples/%s: %v", name, err)
			continue
		}
		if string(got) != body {
			t.Errorf("examples/%s differs from the sample's %s: copy it from a fresh `rollwave dev` data dir", name, name)
		}
	}
}
