package artifact_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/artifact"
	"github.com/rollwave/rollwave/pkg/natstest"
)

func setup(t *testing.T) (context.Context, jetstream.ObjectStore) {
	t.Helper()
	nc := natstest.Connect(t, natstest.RunServer(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	store, err := artifact.Ensure(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, store
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestPushListFetch(t *testing.T) {
	ctx, store := setup(t)
	v1, v10, v2 := []byte("one"), bytes.Repeat([]byte("ten"), 100000), []byte("two")
	for _, p := range []struct {
		app, version string
		data         []byte
	}{{"web", "1.10.0", v10}, {"web", "1.2.0", v2}, {"api", "1.0.0", v1}} {
		in, err := artifact.Push(ctx, store, p.app, p.version, bytes.NewReader(p.data))
		if err != nil {
			t.Fatal(err)
		}
		if in.Digest != sum(p.data) || in.Size != uint64(len(p.data)) {
			t.Fatalf("push %s: %+v", p.version, in)
		}
	}
	// Same content again is a no-op; different content is refused.
	if _, err := artifact.Push(ctx, store, "web", "1.2.0", bytes.NewReader(v2)); err != nil {
		t.Fatalf("re-push of the same content: %v", err)
	}
	if _, err := artifact.Push(ctx, store, "web", "1.2.0", bytes.NewReader(v1)); !errors.Is(err, artifact.ErrExists) {
		t.Fatalf("push of other content under 1.2.0: %v", err)
	}
	all, err := artifact.List(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range all {
		got = append(got, in.App+"@"+in.Version)
	}
	if strings.Join(got, " ") != "api@1.0.0 web@1.2.0 web@1.10.0" {
		t.Fatalf("list: %v", got)
	}
	web, err := artifact.List(ctx, store, "web")
	if err != nil || len(web) != 2 {
		t.Fatalf("list web: %v %v", web, err)
	}
	var buf bytes.Buffer
	in, err := artifact.Fetch(ctx, store, "web", "1.10.0", &buf)
	if err != nil || !bytes.Equal(buf.Bytes(), v10) || in.Digest != sum(v10) {
		t.Fatalf("fetch: %v %+v", err, in)
	}
}

func TestFetchRefusesDigestMismatch(t *testing.T) {
	ctx, store := setup(t)
	if _, err := artifact.Push(ctx, store, "web", "1.0.0", strings.NewReader("good")); err != nil {
		t.Fatal(err)
	}
	// Someone rewrites the recorded digest: the content no longer matches.
	name := contracts.ArtifactName("web", "1.0.0")
	if err := store.UpdateMeta(ctx, name, jetstream.ObjectMeta{Name: name,
		Metadata: map[string]string{contracts.ArtifactDigestKey: sum([]byte("evil"))}}); err != nil {
		t.Fatal(err)
	}
	_, err := artifact.Fetch(ctx, store, "web", "1.0.0", &bytes.Buffer{})
	if !errors.Is(err, artifact.ErrDigestMismatch) {
		t.Fatalf("fetch: %v, want digest mismatch", err)
	}
}

func TestValidation(t *testing.T) {
	ctx, store := setup(t)
	for _, c := range []struct{ app, version, field string }{
		{"Web", "1.0.0", "app"}, {"../x", "1.0.0", "app"}, {"web", "-rf", "version"}, {"web", "1.0/../x", "version"}, {"web", "", "version"},
	} {
		_, err := artifact.Push(ctx, store, c.app, c.version, strings.NewReader("x"))
		var ce *contracts.Error
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("push %q %q: %v, want an error on %s", c.app, c.version, err, c.field)
		}
	}
}
