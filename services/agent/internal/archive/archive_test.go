package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/pkg/archivetest"
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
		"fifo":       {{Name: "p", Type: '6'}},
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

// FuzzUnpack unpacks archives of three entries whose names, link targets
// and types the fuzzer picks (a regular file, directory, symlink or hard
// link each), and checks that nothing is created outside the destination
// and that no symlink inside resolves outside it. Entries are fields rather
// than raw tar bytes so that every input is a valid archive that reaches
// the path checks, and inputs stay small to minimise.
func FuzzUnpack(f *testing.F) {
	f.Add("a", "", byte(0), "b/", "", byte(1), "b/l", "../a", byte(2))
	f.Add("../x", "", byte(0), "c", "a", byte(3), "/abs", "", byte(0))
	f.Add("d/", "", byte(1), "d/up", "..", byte(2), "d/up/x", "", byte(0))
	f.Add("l", "../../../../x", byte(2), "m", "/etc", byte(2), "h", "../x", byte(3))
	f.Add("s", "t", byte(2), "t/u", "../s", byte(2), "s/u/z", "", byte(0))
	f.Add("s", ".", byte(2), "s/l", "..", byte(2), "s/l/x", "", byte(0))
	f.Add("a/", "", byte(1), "a/l", "..", byte(2), "a/l/m", "..", byte(2))
	types := []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink}
	f.Fuzz(func(t *testing.T, n1, l1 string, t1 byte, n2, l2 string, t2 byte, n3, l3 string, t3 byte) {
		var entries []tarEntry
		for _, e := range []struct {
			name, link string
			typ        byte
		}{{n1, l1, t1}, {n2, l2, t2}, {n3, l3, t3}} {
			if len(e.name) > 200 || len(e.link) > 200 {
				return
			}
			typ := types[int(e.typ)%len(types)]
			entries = append(entries, tarEntry{Name: e.name, Link: e.link, Type: typ, Body: "x"})
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: 0o755, Linkname: e.Link}
			if e.Type == tar.TypeReg {
				hdr.Size = 1
			}
			if tw.WriteHeader(hdr) != nil {
				return // not representable in tar
			}
			if e.Type == tar.TypeReg {
				_, _ = tw.Write([]byte("x"))
			}
		}
		if tw.Close() != nil {
			return
		}
		var gzBuf bytes.Buffer
		zw := gzip.NewWriter(&gzBuf)
		_, _ = zw.Write(buf.Bytes())
		_ = zw.Close()
		archive := gzBuf.Bytes()
		// The release sits two levels below root, so that a climb of up
		// to three levels lands somewhere this test looks.
		root := t.TempDir()
		dest := filepath.Join(root, "p", "q", "rel")
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = Unpack(bytes.NewReader(archive), dest, 1<<20)
		_ = filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			switch rel, _ := filepath.Rel(root, p); {
			case rel == ".", rel == "p", rel == filepath.Join("p", "q"), rel == filepath.Join("p", "q", "rel"),
				strings.HasPrefix(rel, filepath.Join("p", "q", "rel")+string(filepath.Separator)):
			default:
				t.Fatalf("created outside the release: %s", rel)
			}
			return nil
		})
		realDest, err := filepath.EvalSymlinks(dest)
		if err != nil {
			return // nothing unpacked
		}
		_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			real, _ := filepath.EvalSymlinks(filepath.Dir(p))
			resolved, ok := resolve(filepath.Join(real, filepath.Base(p)), 0)
			if ok && resolved != realDest && !strings.HasPrefix(resolved, realDest+string(filepath.Separator)) {
				t.Fatalf("symlink %s resolves outside the release: %s", p, resolved)
			}
			return nil
		})
	})
}

// resolve follows the symlinks of an absolute path, component by
// component, the way the kernel would to create a file there: a missing
// component ends the walk and the rest joins lexically. ok is false for a
// loop.
func resolve(path string, depth int) (string, bool) {
	if depth > 40 {
		return "", false
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := filepath.Join(cur, part)
		target, err := os.Readlink(next)
		if err != nil {
			if _, serr := os.Lstat(next); serr != nil {
				return filepath.Join(append([]string{next}, parts[i+1:]...)...), true
			}
			cur = next
			continue
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		r, ok := resolve(target, depth+1)
		if !ok {
			return "", false
		}
		cur = r
	}
	return cur, true
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

// The test archives come from archivetest; short names keep the cases
// readable.
type tarEntry = archivetest.Entry

var (
	file     = archivetest.File
	dir      = archivetest.Dir
	symlink  = archivetest.Symlink
	hardlink = archivetest.Hardlink
	tarGz    = archivetest.TarGz
	rawTar   = archivetest.Tar
)
