package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// appDir holds one application on the host:
//
//	<dir>/<app>/releases/<version>/   one unpacked release each
//	<dir>/<app>/current -> releases/<version>
//
// App names and versions are checked against the contract's rules, so
// neither can hold a '/' or start with '.', which the temporary names use.
type appDir string

func (d appDir) releases() string { return filepath.Join(string(d), "releases") }

func (d appDir) release(version string) string { return filepath.Join(d.releases(), version) }

func (d appDir) current() string { return filepath.Join(string(d), "current") }

// hasRelease reports whether version is unpacked. A release directory
// appears only by a rename after a complete unpack, so one that exists is
// whole.
func (d appDir) hasRelease(version string) bool {
	fi, err := os.Lstat(d.release(version))
	return err == nil && fi.IsDir()
}

// Current returns the version current points at, or "" when there is none.
func (d appDir) Current() (string, error) {
	target, err := os.Readlink(d.current())
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", d.current(), err)
	}
	rel, ok := strings.CutPrefix(target, "releases/")
	if !ok || contracts.CheckVersion("current", rel) != nil {
		return "", fmt.Errorf("%s points at %q, not at releases/<version>", d.current(), target)
	}
	return rel, nil
}

// Switch points current at releases/<version> atomically: a new symlink
// under a temporary name is renamed over current, so a reader sees the
// old release or the new one, never neither. It also marks the release as
// the most recently used, for pruning.
func (d appDir) Switch(version string, now time.Time) error {
	if !d.hasRelease(version) {
		return fmt.Errorf("release %s is not unpacked", version)
	}
	tmp := filepath.Join(string(d), ".current-"+randomSuffix())
	if err := os.Symlink("releases/"+version, tmp); err != nil {
		return fmt.Errorf("switch current: %w", err)
	}
	if err := os.Rename(tmp, d.current()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("switch current: %w", err)
	}
	if err := syncDir(string(d)); err != nil {
		return fmt.Errorf("switch current: %w", err)
	}
	if err := os.Chtimes(d.release(version), now, now); err != nil {
		return fmt.Errorf("mark release %s used: %w", version, err)
	}
	return nil
}

// Prune keeps the keep most recently switched-to releases, and always the
// current one, and removes the others and leftovers of interrupted
// unpacks. It returns the versions removed.
func (d appDir) Prune(keep int) ([]string, error) {
	entries, err := os.ReadDir(d.releases())
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	cur, err := d.Current()
	if err != nil {
		return nil, err
	}
	type rel struct {
		name string
		used time.Time
	}
	var rels []rel
	var removed []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			if err := os.RemoveAll(filepath.Join(d.releases(), e.Name())); err != nil {
				return removed, fmt.Errorf("prune leftover %s: %w", e.Name(), err)
			}
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return removed, fmt.Errorf("prune: %w", err)
		}
		rels = append(rels, rel{e.Name(), fi.ModTime()})
	}
	slices.SortFunc(rels, func(a, b rel) int {
		if c := b.used.Compare(a.used); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	kept := 0
	for _, r := range rels {
		if r.name == cur || kept < keep {
			kept++
			continue
		}
		if err := os.RemoveAll(d.release(r.name)); err != nil {
			return removed, fmt.Errorf("prune release %s: %w", r.name, err)
		}
		removed = append(removed, r.name)
	}
	return removed, nil
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
