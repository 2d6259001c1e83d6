package agent

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckEntryName(t *testing.T) {
	for name, ok := range map[string]bool{
		"a": true, "a/b/c": true, "dir/": true, "./a": true, "./": true,
		"": false, "/a": false, "../a": false, "a/../b": false, "a/..": false, "a//b": false, "a/./b": false, `a\b`: false, "a\x00": false,
	} {
		_, err := CheckEntryName(name)
		if (err == nil) != ok {
			t.Errorf("CheckEntryName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestCheckLinkTarget(t *testing.T) {
	for _, c := range []struct {
		at     string
		target string
		ok     bool
	}{
		{"a", "b", true}, {"a", "b/c", true}, {"d/a", "../b", true}, {"d/e/a", "../../b", true},
		{"a", "..", false}, {"a", "../b", false}, {"d/a", "../../b", false}, {"a", "/etc", false},
		{"d/a", "b/../../x", false}, {"d/a", "./b", false}, {"a", "", false}, {"a", "b//c", false},
	} {
		at, _ := CheckEntryName(c.at)
		err := CheckLinkTarget(at, c.target)
		if (err == nil) != c.ok {
			t.Errorf("CheckLinkTarget(%q, %q) = %v, want ok=%v", c.at, c.target, err, c.ok)
		}
	}
}

func TestUnpackKeepsEverythingInside(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "rel")
	archive := tarGz(t, file("./VERSION", "1"), dir("bin/"), file("bin/app", "x"), symlink("bin/v", "../VERSION"),
		hardlink("bin/app2", "bin/app"), symlink("cur", "bin"))
	if err := Unpack(bytes.NewReader(archive), dest, 1<<20); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dest, "bin", "v"))
	if err != nil || string(b) != "1" {
		t.Fatalf("bin/v: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "cur", "app2")); string(b) != "x" {
		t.Fatalf("cur/app2: %q", b)
	}
	for name, entries := range map[string][]tarEntry{
		"duplicate":  {file("a", "1"), file("a", "2")},
		"over-limit": {file("big", strings.Repeat("x", 2<<20))},
		"fifo":       {{name: "p", typ: '6'}},
		"over-link":  {symlink("l", "x"), file("l", "boom")},
		"link-dir":   {dir("d/"), hardlink("h", "d")},
	} {
		d := filepath.Join(root, name)
		if err := Unpack(bytes.NewReader(tarGz(t, entries...)), d, 1<<20); err == nil {
			t.Errorf("%s: unpacked", name)
		}
	}
	if err := Unpack(bytes.NewReader([]byte("not gzip")), filepath.Join(root, "junk"), 1<<20); err == nil {
		t.Error("junk unpacked")
	}
}

// FuzzUnpack feeds arbitrary archives to Unpack and checks that nothing is
// created outside the destination and no symlink inside resolves outside.
func FuzzUnpack(f *testing.F) {
	f.Add(tarGz(f, file("a", "1"), dir("b/"), symlink("b/l", "../a"), hardlink("c", "a")))
	f.Add(tarGz(f, file("../x", "1")))
	f.Add(tarGz(f, dir("d/"), symlink("d/up", ".."), file("d/up/x", "y")))
	f.Add(tarGz(f, symlink("l", "../../../../x"), symlink("m", "/etc")))
	f.Add(tarGz(f, symlink("s", "t"), dir("t/"), symlink("t/u", "../s"), file("s/u/z", "1")))
	f.Fuzz(func(t *testing.T, archive []byte) {
		root := t.TempDir()
		dest := filepath.Join(root, "rel")
		_ = Unpack(bytes.NewReader(archive), dest, 1<<20)
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "rel" {
				t.Fatalf("created outside the release: %s", e.Name())
			}
		}
		realDest, err := filepath.EvalSymlinks(dest)
		if err != nil {
			return // nothing unpacked
		}
		_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			resolved, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // dangling or a loop: points nowhere
			}
			if resolved != realDest && !strings.HasPrefix(resolved, realDest+string(filepath.Separator)) {
				t.Fatalf("symlink %s resolves outside the release: %s", p, resolved)
			}
			return nil
		})
	})
}

// FuzzCheckEntryName: an accepted name joins to a path inside the root.
func FuzzCheckEntryName(f *testing.F) {
	for _, s := range []string{"a/b", "../a", "/a", "./a", "a/../../b"} {
		f.Add(s, "../b")
	}
	f.Fuzz(func(t *testing.T, name, target string) {
		parts, err := CheckEntryName(name)
		if err != nil || len(parts) == 0 {
			return
		}
		root := "/root"
		p := filepath.Join(append([]string{root}, parts...)...)
		if !strings.HasPrefix(p, root+"/") {
			t.Fatalf("%q joins to %q", name, p)
		}
		if CheckLinkTarget(parts, target) == nil {
			resolved := filepath.Join(filepath.Dir(p), target)
			if resolved != root && !strings.HasPrefix(resolved, root+"/") {
				t.Fatalf("link %q -> %q resolves to %q", name, target, resolved)
			}
		}
	})
}
