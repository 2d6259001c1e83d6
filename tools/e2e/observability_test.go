package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const observabilityDir = "../../deployments/observability"

// dashboardQueries returns every PromQL expression of the Grafana dashboard.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(observabilityDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatal("dashboard has no uid or no panels")
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// TestDashboardQueriesParse: promtool parses every dashboard query, checked
// as recording rules (promtool has no bare query checker).
func TestDashboardQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ROLLWAVE_REQUIRE_TOOLS") != "" {
			t.Fatal("promtool is missing (make test-deps installs it)")
		}
		t.Skip("promtool is missing (make test-deps installs it)")
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardQueries(t) {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
}

var metricName = regexp.MustCompile(`\brollwave_[a-z_]+`)

// referencedMetrics lists the rollwave_ metrics the dashboard and the alert
// rules use, without histogram suffixes.
func referencedMetrics(t *testing.T) []string {
	t.Helper()
	alerts, err := os.ReadFile(filepath.Join(observabilityDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(alerts) + strings.Join(dashboardQueries(t), "\n")
	var names []string
	for _, n := range metricName.FindAllString(text, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			n = strings.TrimSuffix(n, suffix)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// checkReferencedMetricsExist fails when the dashboard or an alert uses a
// metric the running stack does not export (a rename, a typo).
func checkReferencedMetricsExist(t *testing.T, exposition string) {
	t.Helper()
	for _, n := range referencedMetrics(t) {
		if !strings.Contains(exposition, "# TYPE "+n+" ") {
			t.Errorf("the dashboard or an alert uses %s, which the stack does not export", n)
		}
	}
}
