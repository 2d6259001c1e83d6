// Package deps decides dependencies between applications: whether the
// requirements of a release are met by what runs in an environment, the
// order in which several applications roll out, and the graph of them as
// DOT or Mermaid. Everything here is pure.
package deps

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Requirement is one application's need of another: App at a version
// that satisfies Constraint (Masterminds syntax: ">=3.2.0 <4.0.0", "^1.2",
// "~2.0").
type Requirement struct {
	App        string
	Constraint string
}

// App is an application at a version with its requirements.
type App struct {
	Name     string
	Version  string
	Requires []Requirement
}

// Unmet is a requirement the environment does not satisfy.
type Unmet struct {
	// Index is the requirement's position in the app's Requires.
	Index       int
	Requirement Requirement
	// Running are the versions of the required app in the environment,
	// sorted; none means it does not run there.
	Running []string
}

func (u Unmet) String() string {
	if len(u.Running) == 0 {
		return fmt.Sprintf("requires %s %s, which does not run in the environment", u.Requirement.App, u.Requirement.Constraint)
	}
	return fmt.Sprintf("requires %s %s, but the environment runs %s", u.Requirement.App, u.Requirement.Constraint, strings.Join(u.Running, ", "))
}

// ParseConstraint checks a constraint's syntax.
func ParseConstraint(s string) (*semver.Constraints, error) {
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("is not a semver constraint: %w", err)
	}
	return c, nil
}

// Satisfied reports whether every version satisfies c (and there is one).
func Satisfied(c *semver.Constraints, versions []string) bool {
	if len(versions) == 0 {
		return false
	}
	for _, v := range versions {
		sv, err := semver.NewVersion(v)
		if err != nil || !c.Check(sv) {
			return false
		}
	}
	return true
}

// Check returns the requirements of app that running does not satisfy.
// running maps application to the distinct versions its hosts in the
// environment run: a requirement holds when the app runs there and every
// host of it runs a satisfying version (a rollout half done does not
// count). An unparsable constraint is an error naming its index.
func Check(app App, running map[string][]string) ([]Unmet, error) {
	var out []Unmet
	for i, r := range app.Requires {
		c, err := ParseConstraint(r.Constraint)
		if err != nil {
			return nil, fmt.Errorf("requires[%d].version: %w", i, err)
		}
		vs := slices.Sorted(slices.Values(slices.Compact(slices.Sorted(slices.Values(running[r.App])))))
		if !Satisfied(c, vs) {
			out = append(out, Unmet{Index: i, Requirement: r, Running: vs})
		}
	}
	return out, nil
}

// CycleError names a cycle of requirements.
type CycleError struct{ Cycle []string }

func (e *CycleError) Error() string {
	return "applications require each other in a cycle: " + strings.Join(e.Cycle, " -> ")
}

// Order returns the applications so that each comes after every one it
// requires (among those given); ties are broken by name, so the order is
// stable. A cycle is a *CycleError that names it.
func Order(apps []App) ([]string, error) {
	byName := map[string]App{}
	for _, a := range apps {
		byName[a.Name] = a
	}
	names := slices.Sorted(maps.Keys(byName))
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			i := slices.Index(path, name)
			return &CycleError{Cycle: append(slices.Clone(path[i:]), name)}
		}
		state[name] = visiting
		reqs := slices.Clone(byName[name].Requires)
		slices.SortFunc(reqs, func(a, b Requirement) int { return cmp.Compare(a.App, b.App) })
		for _, r := range reqs {
			if _, ok := byName[r.App]; !ok {
				continue
			}
			if err := visit(r.App, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, name)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
