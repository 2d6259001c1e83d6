// Package versions decides how a host result changes the inventory of
// which version runs where. It holds no state and does no I/O: the service
// applies the updates and records the stream position.
package versions

import (
	"fmt"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// Update sets the version of one application on one host.
type Update struct {
	Environment string
	Host        string
	App         string
	Version     string
	Rollout     string
	// UpdatedAt is when the deployment finished, taken from the result so
	// that rebuilding from the stream gives the same answer.
	UpdatedAt time.Time
	// Unverified: installed, but a check failed.
	Unverified bool
}

// FromMessage reads a message of the RESULTS stream. It returns ok=false
// for a result that changes no version (a failed action); an error means
// the message cannot be read and can only be skipped.
func FromMessage(b []byte) (u Update, ok bool, err error) {
	env, err := contracts.DecodeEnvelope(b)
	if err != nil {
		return Update{}, false, fmt.Errorf("decode result envelope: %w", err)
	}
	var r contracts.HostResult
	if err := env.DecodeDataTolerant(contracts.TypeHostResult, &r); err != nil {
		return Update{}, false, fmt.Errorf("decode host result %s: %w", env.ID, err)
	}
	if err := r.Validate(); err != nil {
		return Update{}, false, fmt.Errorf("host result %s: %w", env.ID, err)
	}
	// A host whose install succeeded runs the new version even when a check
	// failed (checks run only after a successful install, so a result with
	// checks was installed even from an executor that predates Installed);
	// only a failed install leaves the old version.
	installed := r.Status == contracts.ResultSucceeded || r.Installed || len(r.Checks) > 0
	// A check action (an analysis measurement) or a traffic switch installs
	// nothing.
	if !installed || r.Status == contracts.ResultCancelled || r.Kind == contracts.ActionCheck || r.Kind == contracts.ActionTraffic {
		return Update{}, false, nil
	}
	var fe contracts.FieldErrors
	if r.App == "" {
		fe.Add("app", "is required")
	}
	if r.Version == "" {
		fe.Add("version", "is required")
	}
	if err := fe.Err(); err != nil {
		return Update{}, false, fmt.Errorf("host result %s: %w", env.ID, err)
	}
	at := r.FinishedAt
	if at.IsZero() {
		at = env.Time
	}
	return Update{
		Environment: r.Environment,
		Host:        r.Host,
		App:         r.App,
		Version:     r.Version,
		Rollout:     r.Rollout,
		UpdatedAt:   at.UTC(),
		Unverified:  r.Status != contracts.ResultSucceeded,
	}, true, nil
}
