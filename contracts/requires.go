package contracts

import "fmt"

// Requirement is a need of the released application on another one, at
// a version that satisfies a semver constraint (">=3.2.0 <4.0.0", "^1.2").
// The planner checks the constraint's syntax and refuses a rollout whose
// requirements the environment does not meet.
type Requirement struct {
	App     string `json:"app"`
	Version string `json:"version"`
}

func (r DeployRequest) validateRequires(fe *FieldErrors) {
	seen := map[string]int{}
	for i, q := range r.Requires {
		field := fmt.Sprintf("requires[%d]", i)
		switch {
		case q.App == "":
			fe.Add(field+".app", "is required")
		case !appName.MatchString(q.App):
			fe.Add(field+".app", "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(q.App))
		case q.App == r.App:
			fe.Add(field+".app", "an application cannot require itself")
		default:
			if j, dup := seen[q.App]; dup {
				fe.Add(field+".app", "repeats %q (also requires[%d])", q.App, j)
			}
			seen[q.App] = i
		}
		if q.Version == "" {
			fe.Add(field+".version", "is required (a semver constraint such as \">=1.2.0 <2.0.0\")")
		}
	}
}
