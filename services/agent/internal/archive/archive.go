// Package archive unpacks release archives (tar.gz) so that nothing they
// hold can reach outside the directory they are unpacked into.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DefaultMaxUnpacked bounds the bytes a release may unpack to, against
// archives that decompress to far more than they weigh.
const DefaultMaxUnpacked = 4 << 30

// maxEntries bounds the entries of one archive.
const maxEntries = 1 << 20

// CheckEntryName checks the name of an archive entry: a relative path of
// plain names, never absolute and never with a "..", "." or empty
// component (a trailing '/' of a directory is allowed). It returns the
// name's components.
func CheckEntryName(name string) ([]string, error) {
	name = strings.TrimSuffix(name, "/")
	switch {
	case name == "":
		return nil, errors.New("empty name")
	case strings.HasPrefix(name, "/"):
		return nil, fmt.Errorf("%q: absolute path", name)
	case strings.ContainsRune(name, 0), strings.ContainsRune(name, '\\'):
		return nil, fmt.Errorf("%q: NUL or backslash in name", name)
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		switch p {
		case "..":
			return nil, fmt.Errorf("%q: path traversal (..)", name)
		case "", ".":
			// "./x" is how `tar -C dir .` writes names: allowed only
			// as a leading "./", which is dropped.
			if p == "." && i == 0 {
				continue
			}
			return nil, fmt.Errorf("%q: empty or '.' path component", name)
		}
	}
	if parts[0] == "." {
		parts = parts[1:]
		if len(parts) == 0 {
			return nil, nil // the root itself
		}
	}
	return parts, nil
}

// CheckLinkTarget checks the target of a symlink at the entry whose
// components are at: it must be relative, may climb with leading ".."
// only, no higher than the link's own directory is deep, and then descend
// through plain names. Because nothing is ever written through a symlink
// and every link obeys this rule, no chain of links leads outside the
// release.
func CheckLinkTarget(at []string, target string) error {
	switch {
	case target == "":
		return errors.New("empty symlink target")
	case strings.HasPrefix(target, "/"):
		return fmt.Errorf("symlink to absolute path %q", target)
	case strings.ContainsRune(target, 0), strings.ContainsRune(target, '\\'):
		return fmt.Errorf("symlink target %q holds NUL or backslash", target)
	}
	depth := len(at) - 1 // directories above the link inside the release
	climbing := true
	for _, p := range strings.Split(target, "/") {
		switch {
		case p == "..":
			if !climbing {
				return fmt.Errorf("symlink target %q: '..' after a name", target)
			}
			depth--
			if depth < 0 {
				return fmt.Errorf("symlink target %q points outside the release", target)
			}
		case p == "" || p == ".":
			return fmt.Errorf("symlink target %q: empty or '.' path component", target)
		default:
			climbing = false
		}
	}
	return nil
}

// Unpack extracts a gzipped tar archive into dest, which must not exist
// yet and is created. Regular files, directories, and symlinks and hard
// links that stay inside dest are allowed; anything else, a name that
// climbs out, a write through a symlink, a duplicate name, or more than
// limit bytes is refused with an error naming the entry.
func Unpack(r io.Reader, dest string, limit int64) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip archive: %w", err)
	}
	defer gz.Close()
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	var total int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if n >= maxEntries {
			return fmt.Errorf("more than %d entries", maxEntries)
		}
		if err := unpackEntry(tr, hdr, dest, limit, &total); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

func unpackEntry(tr *tar.Reader, hdr *tar.Header, dest string, limit int64, total *int64) error {
	parts, err := CheckEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return errors.New("only a directory may name the root")
	}
	if err := realParents(dest, parts); err != nil {
		return err
	}
	path := filepath.Join(append([]string{dest}, parts...)...)
	perm := os.FileMode(hdr.Mode) & 0o777 // no setuid, setgid or sticky bits
	switch hdr.Typeflag {
	case tar.TypeDir:
		err := os.Mkdir(path, perm|0o700)
		if errors.Is(err, os.ErrExist) {
			fi, lerr := os.Lstat(path)
			if lerr == nil && fi.IsDir() {
				return nil
			}
		}
		return err
	case tar.TypeReg:
		if hdr.Size < 0 || *total+hdr.Size > limit {
			return fmt.Errorf("release exceeds %d bytes unpacked", limit)
		}
		*total += hdr.Size
		// O_EXCL: never overwrite, so never write through a symlink.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, hdr.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		if err := CheckLinkTarget(parts, hdr.Linkname); err != nil {
			return err
		}
		return os.Symlink(hdr.Linkname, path)
	case tar.TypeLink:
		target, err := CheckEntryName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link: %w", err)
		}
		if len(target) == 0 {
			return errors.New("hard link to the root")
		}
		if err := realParents(dest, target); err != nil {
			return fmt.Errorf("hard link: %w", err)
		}
		tpath := filepath.Join(append([]string{dest}, target...)...)
		fi, err := os.Lstat(tpath)
		if err != nil {
			return fmt.Errorf("hard link to %q: target must be a file earlier in the archive: %w", hdr.Linkname, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %q: not a regular file", hdr.Linkname)
		}
		return os.Link(tpath, path)
	default:
		return fmt.Errorf("entry type %q is not allowed (only files, directories and links)", string(hdr.Typeflag))
	}
}

// realParents makes the parent directories of parts under dest, and
// refuses when any of them exists as something other than a real
// directory (a symlink above all).
func realParents(dest string, parts []string) error {
	dir := dest
	for _, p := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, p)
		fi, err := os.Lstat(dir)
		if errors.Is(err, os.ErrNotExist) {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%q is not a directory (a symlink is never written through)", p)
		}
	}
	return nil
}
