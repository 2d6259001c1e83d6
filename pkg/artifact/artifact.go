// Package artifact stores release artifacts in a JetStream Object Store:
// one object per app and version, with the SHA-256 of its content in the
// object's metadata, which Fetch verifies.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// ErrDigestMismatch: the content does not hash to the recorded digest.
var ErrDigestMismatch = errors.New("artifact digest mismatch")

// ErrExists: another artifact is stored under the same app and version.
var ErrExists = errors.New("artifact exists with different content")

// Info describes a stored artifact.
type Info struct {
	App      string    `json:"app"`
	Version  string    `json:"version"`
	Size     uint64    `json:"size"`
	Digest   string    `json:"digest"`
	Modified time.Time `json:"modified"`
}

// Ensure opens the artifacts bucket, creating it with replicas when it is
// missing.
func Ensure(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.ObjectStore, error) {
	store, err := js.ObjectStore(ctx, contracts.ArtifactsBucket)
	if err == nil {
		return store, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open bucket %s: %w", contracts.ArtifactsBucket, err)
	}
	store, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      contracts.ArtifactsBucket,
		Description: "Rollwave release artifacts, <app>/<version>",
		Storage:     jetstream.FileStorage,
		Replicas:    max(1, replicas),
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		store, err = js.ObjectStore(ctx, contracts.ArtifactsBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", contracts.ArtifactsBucket, err)
	}
	return store, nil
}

// Open opens the artifacts bucket, which must exist.
func Open(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	store, err := js.ObjectStore(ctx, contracts.ArtifactsBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", contracts.ArtifactsBucket, err)
	}
	return store, nil
}

func check(app, version string) error {
	if err := contracts.CheckApp("app", app); err != nil {
		return err
	}
	return contracts.CheckVersion("version", version)
}

// Push stores content as the artifact of app at version. It reads content
// twice: once for its digest, which goes into the metadata, then to store
// it. Artifacts are immutable: pushing the same content again is a no-op,
// different content under a stored version is ErrExists.
func Push(ctx context.Context, store jetstream.ObjectStore, app, version string, content io.ReadSeeker) (Info, error) {
	if err := check(app, version); err != nil {
		return Info{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, content); err != nil {
		return Info{}, fmt.Errorf("read artifact: %w", err)
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return Info{}, fmt.Errorf("rewind artifact: %w", err)
	}
	name := contracts.ArtifactName(app, version)
	if old, err := store.GetInfo(ctx, name); err == nil {
		if old.Metadata[contracts.ArtifactDigestKey] == digest {
			return infoOf(old), nil
		}
		return Info{}, fmt.Errorf("%s: %w (sha256 %s stored, %s pushed); push a new version", name, ErrExists,
			old.Metadata[contracts.ArtifactDigestKey], digest)
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return Info{}, fmt.Errorf("look up %s: %w", name, err)
	}
	oi, err := store.Put(ctx, jetstream.ObjectMeta{
		Name: name,
		Metadata: map[string]string{
			contracts.ArtifactDigestKey:  digest,
			contracts.ArtifactAppKey:     app,
			contracts.ArtifactVersionKey: version,
		},
	}, content)
	if err != nil {
		return Info{}, fmt.Errorf("store %s: %w", name, err)
	}
	return infoOf(oi), nil
}

func infoOf(oi *jetstream.ObjectInfo) Info {
	app, version, _ := strings.Cut(oi.Name, "/")
	return Info{App: app, Version: version, Size: oi.Size, Digest: oi.Metadata[contracts.ArtifactDigestKey], Modified: oi.ModTime}
}

// List returns the artifacts of app (every app when app is ""), by app and
// then by version (semver order where both are semver, else by name).
func List(ctx context.Context, store jetstream.ObjectStore, app string) ([]Info, error) {
	if app != "" {
		if err := contracts.CheckApp("app", app); err != nil {
			return nil, err
		}
	}
	objs, err := store.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	out := []Info{}
	for _, oi := range objs {
		in := infoOf(oi)
		if app != "" && in.App != app {
			continue
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		if c, ok := contracts.CompareVersions(a.Version, b.Version); ok {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return out, nil
}

// Fetch writes the artifact of app at version to w and verifies it against
// the recorded digest; on ErrDigestMismatch what was written must not be
// used.
func Fetch(ctx context.Context, store jetstream.ObjectStore, app, version string, w io.Writer) (Info, error) {
	if err := check(app, version); err != nil {
		return Info{}, err
	}
	name := contracts.ArtifactName(app, version)
	res, err := store.Get(ctx, name)
	if err != nil {
		return Info{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	defer res.Close()
	oi, err := res.Info()
	if err != nil {
		return Info{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	want := oi.Metadata[contracts.ArtifactDigestKey]
	if want == "" {
		return Info{}, fmt.Errorf("%s: no %s in its metadata: %w", name, contracts.ArtifactDigestKey, ErrDigestMismatch)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), res); err != nil {
		return Info{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return Info{}, fmt.Errorf("%s: content has sha256 %s, metadata says %s: %w", name, got, want, ErrDigestMismatch)
	}
	return infoOf(oi), nil
}
