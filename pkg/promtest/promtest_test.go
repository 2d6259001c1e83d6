package promtest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The server scrapes the app: its up series reaches 1, and its error ratio
// follows the rate the test sets.
func TestStartScrapesTheApp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	app := NewApp(5)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	target := strings.TrimPrefix(srv.URL, "http://")
	base := Start(t, target)
	waitFor := func(query string, ok func(float64) bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			v, err := Value(base, query)
			if err == nil && ok(v) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v, %v", query, v, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor(fmt.Sprintf(`up{instance=%q}`, target), func(v float64) bool { return v == 1 })
	waitFor(ErrorRatio(target), func(v float64) bool { return v > 0.004 && v < 0.006 })
	app.SetErrorRate(300)
	waitFor(ErrorRatio(target), func(v float64) bool { return v > 0.1 })
	if _, err := Value(base, "nothing_like_this"); err == nil {
		t.Fatal("an empty answer is an error")
	}
}
