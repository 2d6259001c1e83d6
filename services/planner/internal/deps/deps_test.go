package deps

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestCheck(t *testing.T) {
	running := map[string][]string{"api": {"3.4.0", "3.4.0"}, "db": {"5.1.0", "4.9.0"}, "cache": {"1.0.0"}}
	app := App{Name: "web", Version: "2.4.1", Requires: []Requirement{
		{App: "api", Constraint: ">=3.2.0 <4.0.0"}, // met on every host
		{App: "db", Constraint: "^5"},              // one host still runs 4.9.0
		{App: "queue", Constraint: ">=1"},          // not running at all
		{App: "cache", Constraint: "~1.0"},         // met
	}}
	unmet, err := Check(app, running)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range unmet {
		got = append(got, u.String())
	}
	want := []string{
		"requires db ^5, but the environment runs 4.9.0, 5.1.0",
		"requires queue >=1, which does not run in the environment",
	}
	if !slices.Equal(got, want) || unmet[0].Index != 1 || unmet[1].Index != 2 {
		t.Fatalf("unmet %q (%+v), want %q", got, unmet, want)
	}
	if unmet, err := Check(App{Name: "web", Requires: app.Requires[:1]}, running); err != nil || len(unmet) != 0 {
		t.Fatalf("satisfied: %v %v", unmet, err)
	}
	if _, err := Check(App{Name: "web", Requires: []Requirement{{App: "api", Constraint: "soon"}}}, running); err == nil {
		t.Fatal("bad constraint accepted")
	}
}

func TestOrder(t *testing.T) {
	apps := []App{
		{Name: "web", Requires: []Requirement{{App: "api", Constraint: ">=1"}, {App: "cdn", Constraint: ">=1"}}},
		{Name: "api", Requires: []Requirement{{App: "db", Constraint: ">=1"}, {App: "outside", Constraint: ">=1"}}},
		{Name: "db"},
		{Name: "cdn"},
	}
	got, err := Order(apps)
	if want := []string{"db", "api", "cdn", "web"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("order %v %v, want %v", got, err, want)
	}
	apps[2].Requires = []Requirement{{App: "web", Constraint: ">=1"}}
	_, err = Order(apps)
	var ce *CycleError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Cycle, []string{"api", "db", "web", "api"}) ||
		err.Error() != "applications require each other in a cycle: api -> db -> web -> api" {
		t.Fatalf("cycle: %v", err)
	}
}

func TestGraphGolden(t *testing.T) {
	apps := []App{
		{Name: "web", Version: "2.4.1", Requires: []Requirement{{App: "api", Constraint: ">=3.2.0 <4.0.0"}, {App: "cdn", Constraint: "^2"}}},
		{Name: "api", Version: "3.4.0", Requires: []Requirement{{App: "db", Constraint: "^5"}}},
	}
	running := map[string][]string{"web": {"2.4.0"}, "api": {"3.4.0"}, "db": {"4.9.0", "5.1.0"}}
	g := Build("production", apps, running)
	for _, tc := range []struct{ file, got string }{
		{"graph.dot", g.DOT()},
		{"graph.mmd", g.Mermaid()},
	} {
		path := filepath.Join("testdata", tc.file)
		if *update {
			if err := os.WriteFile(path, []byte(tc.got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if tc.got != string(want) {
			t.Errorf("%s differs (go test -update rewrites it):\n%s", tc.file, tc.got)
		}
	}
	if len(g.Edges) != 3 || g.Edges[0].Met || !g.Edges[1].Met || g.Edges[2].Met {
		t.Fatalf("edges %+v", g.Edges)
	}
}
