package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// journal records, on the host, every host action the agent completed and
// its result, one file per action id, written to a temporary name, fsynced,
// renamed into place and the directory fsynced: after Put returns, a crash
// or power loss does not lose the record. A redelivered action finds it and
// gets the recorded result without anything being done again.
type journal struct {
	dir string
}

// entry is one journal file.
type entry struct {
	ActionID string                   `json:"action_id"`
	App      string                   `json:"app"`
	Version  string                   `json:"version"`
	At       time.Time                `json:"at"`
	Result   contracts.AgentActResult `json:"result"`
}

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &journal{dir: dir}, nil
}

// path names an action's file by the hash of its id: ids hold '/'.
func (j *journal) path(actionID string) string {
	sum := sha256.Sum256([]byte(actionID))
	return filepath.Join(j.dir, hex.EncodeToString(sum[:])+".json")
}

// Get returns the recorded entry of an action, if any.
func (j *journal) Get(actionID string) (entry, bool, error) {
	b, err := os.ReadFile(j.path(actionID))
	if errors.Is(err, os.ErrNotExist) {
		return entry{}, false, nil
	}
	if err != nil {
		return entry{}, false, fmt.Errorf("journal: %w", err)
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return entry{}, false, fmt.Errorf("journal entry of %s: %w", actionID, err)
	}
	if e.ActionID != actionID {
		return entry{}, false, fmt.Errorf("journal entry of %s names %s", actionID, e.ActionID)
	}
	return e, true, nil
}

// Put records an entry durably.
func (j *journal) Put(e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	final := j.path(e.ActionID)
	tmp := final + ".tmp-" + randomSuffix()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Prune removes entries recorded before before, and leftovers of
// interrupted writes. It returns how many entries it removed.
func (j *journal) Prune(before time.Time) (int, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if !fi.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("journal: %w", err)
		}
		n++
	}
	return n, nil
}
