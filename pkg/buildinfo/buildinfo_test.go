package buildinfo

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStringAndCollector(t *testing.T) {
	v := Info{Version: "v1.2.3", Commit: "0123456789abcdef0123", Modified: true, Time: "2026-12-01T10:00:00Z", Go: "go1.26.8"}
	if got, want := v.String(), "v1.2.3 (0123456789ab, modified, 2026-12-01T10:00:00Z) go1.26.8"; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(v.Collector())
	want := `# HELP rollwave_build_info Always 1; the labels name the running build.
# TYPE rollwave_build_info gauge
rollwave_build_info{goversion="go1.26.8",revision="0123456789ab",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rollwave_build_info"); err != nil {
		t.Fatal(err)
	}
}

func TestReadKnowsTheGoRelease(t *testing.T) {
	if v := Read(); !strings.HasPrefix(v.Go, "go") {
		t.Fatalf("Read: %+v", v)
	}
}
