// Package planstore keeps plans too large for their planned event in the
// JetStream Object Store bucket contracts.PlansBucket, one object per
// rollout, and reads them back verified against the event's digest.
package planstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// ErrDigestMismatch: the stored bytes do not hash to the event's digest.
var ErrDigestMismatch = errors.New("plan digest mismatch")

// ErrMissing: no plan is stored for the reference.
var ErrMissing = errors.New("plan not stored")

// Ensure opens the plans bucket, creating it with replicas when missing.
// Plans are kept as long as the events stream keeps planned events.
func Ensure(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.ObjectStore, error) {
	store, err := js.ObjectStore(ctx, contracts.PlansBucket)
	if err == nil {
		return store, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open bucket %s: %w", contracts.PlansBucket, err)
	}
	store, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      contracts.PlansBucket,
		Description: "Rollwave plans too large for their planned event, <rollout>",
		Storage:     jetstream.FileStorage,
		Replicas:    max(1, replicas),
		TTL:         contracts.PlansMaxAge,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		store, err = js.ObjectStore(ctx, contracts.PlansBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", contracts.PlansBucket, err)
	}
	return store, nil
}

// Put stores the encoded plan of rollout and returns its reference. A plan
// already stored for the rollout wins: Put returns that one, decoded, with
// its reference, so that a planner which crashed between storing the plan
// and publishing its event, and plans again (perhaps differently), never
// publishes an event whose digest does not match the object, and an event
// already published keeps the plan it names.
func Put(ctx context.Context, store jetstream.ObjectStore, p contracts.Plan) (contracts.Plan, contracts.PlanRef, error) {
	if p.Rollout == "" {
		return p, contracts.PlanRef{}, errors.New("store plan: no rollout id")
	}
	if old, err := Get(ctx, store, p.Rollout, nil); err == nil {
		return old.Plan, old.Ref, nil
	} else if !errors.Is(err, ErrMissing) {
		return p, contracts.PlanRef{}, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return p, contracts.PlanRef{}, fmt.Errorf("encode plan of %s: %w", p.Rollout, err)
	}
	ref := refOf(p, b)
	_, err = store.Put(ctx, jetstream.ObjectMeta{
		Name:        p.Rollout,
		Description: "plan of rollout " + p.Rollout,
		Metadata:    map[string]string{digestKey: ref.SHA256},
	}, bytes.NewReader(b))
	if err != nil {
		return p, contracts.PlanRef{}, fmt.Errorf("store plan of %s: %w", p.Rollout, err)
	}
	return p, ref, nil
}

// digestKey holds the SHA-256 in the object's metadata, so a stored plan
// can be referenced again without trusting a re-encoding.
const digestKey = "rollwave-sha256"

func refOf(p contracts.Plan, b []byte) contracts.PlanRef {
	return contracts.PlanRef{Bucket: contracts.PlansBucket, Object: p.Rollout, Size: int64(len(b)),
		SHA256: contracts.PlanDigest(b), Summary: contracts.Summarize(p)}
}

// Stored is a plan read back from the bucket.
type Stored struct {
	Plan contracts.Plan
	Ref  contracts.PlanRef
}

// Get reads the plan of rollout. With want set, the bytes must have its
// size and digest (else ErrDigestMismatch); without, the object's own
// recorded digest is checked. The plan decodes tolerantly: it is a message
// between services.
func Get(ctx context.Context, store jetstream.ObjectStore, rollout string, want *contracts.PlanRef) (Stored, error) {
	res, err := store.Get(ctx, rollout)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Stored{}, fmt.Errorf("plan of %s in %s: %w", rollout, contracts.PlansBucket, ErrMissing)
	}
	if err != nil {
		return Stored{}, fmt.Errorf("fetch plan of %s: %w", rollout, err)
	}
	defer res.Close()
	oi, err := res.Info()
	if err != nil {
		return Stored{}, fmt.Errorf("fetch plan of %s: %w", rollout, err)
	}
	if oi.Size > contracts.MaxPlanSize {
		return Stored{}, fmt.Errorf("plan of %s is %d bytes, above the limit of %d: %w", rollout, oi.Size, contracts.MaxPlanSize, ErrDigestMismatch)
	}
	b, err := io.ReadAll(io.LimitReader(res, contracts.MaxPlanSize+1))
	if err != nil {
		return Stored{}, fmt.Errorf("fetch plan of %s: %w", rollout, err)
	}
	digest := contracts.PlanDigest(b)
	expect := oi.Metadata[digestKey]
	if want != nil {
		expect = want.SHA256
		if int64(len(b)) != want.Size {
			return Stored{}, fmt.Errorf("plan of %s is %d bytes, the event says %d: %w", rollout, len(b), want.Size, ErrDigestMismatch)
		}
	}
	if digest != expect {
		return Stored{}, fmt.Errorf("plan of %s has sha256 %s, expected %s: %w", rollout, digest, expect, ErrDigestMismatch)
	}
	var p contracts.Plan
	if err := contracts.DecodeTolerant(b, &p); err != nil {
		return Stored{}, fmt.Errorf("decode plan of %s: %w", rollout, err)
	}
	if p.Rollout != rollout {
		return Stored{}, contracts.Invalid("plan_ref.object", "holds the plan of rollout %q, not %q", p.Rollout, rollout)
	}
	return Stored{Plan: p, Ref: refOf(p, b)}, nil
}

// Permanent reports whether a Get error will not go away by retrying: the
// object is missing, does not match its reference, or is not a plan.
func Permanent(err error) bool {
	return errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrMissing) || contracts.AsFieldErrors(err) != nil
}
