package contracts

import (
	"fmt"
	"strings"
)

// AppRelease is one application of a request that names several
// (DeployRequest.Apps): the planner orders them by their requires and
// rolls them out one after another, each as its own rollout
// (MemberRolloutID), each starting after the one before completed.
type AppRelease struct {
	App      string        `json:"app"`
	Version  string        `json:"version"`
	Requires []Requirement `json:"requires,omitempty"`
}

// MemberRolloutID is the rollout id of app within the multi-application
// request id: "<id>-<app>", with '.' (which app names allow and subject
// tokens do not) written as '_'.
func MemberRolloutID(id, app string) string {
	return id + "-" + strings.ReplaceAll(app, ".", "_")
}

// Member returns the single-application request for a.App: the request's
// layout, policies and params, with a's app, version and requires and the
// rollout id MemberRolloutID.
func (r DeployRequest) Member(a AppRelease) DeployRequest {
	m := r
	m.ID, m.App, m.Version, m.Requires, m.Apps = MemberRolloutID(r.ID, a.App), a.App, a.Version, a.Requires, nil
	return m
}

// validateApps checks apps, which excludes app, version and requires (each
// entry carries its own). It reports whether apps is set.
func (r DeployRequest) validateApps(fe *FieldErrors) bool {
	if r.Apps == nil {
		return false
	}
	if len(r.Apps) == 0 {
		fe.Add("apps", "needs at least one application")
	}
	for _, f := range []struct{ name, v string }{{"app", r.App}, {"version", r.Version}} {
		if f.v != "" {
			fe.Add(f.name, "cannot be combined with apps: each entry of apps names its application and version")
		}
	}
	if len(r.Requires) > 0 {
		fe.Add("requires", "cannot be combined with apps: each entry of apps carries its own requires")
	}
	apps := map[string]int{}
	ids := map[string]int{}
	for i, a := range r.Apps {
		field := IndexPath("apps", i)
		switch {
		case a.App == "":
			fe.Add(field+".app", "is required")
		case !appName.MatchString(a.App):
			fe.Add(field+".app", "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(a.App))
		default:
			id := MemberRolloutID(r.ID, a.App)
			if j, dup := apps[a.App]; dup {
				fe.Add(field+".app", "repeats %q (also apps[%d])", a.App, j)
			} else if j, dup := ids[id]; dup {
				fe.Add(field+".app", "gives the rollout id %q, as apps[%d] does", id, j)
			} else if ValidToken(r.ID) && !ValidToken(id) {
				fe.Add(field+".app", "makes the rollout id %q, longer than 128 characters: shorten the request id", clip(id))
			}
			apps[a.App], ids[id] = i, i
		}
		if err := CheckVersion(field+".version", a.Version); err != nil {
			fe.Add(field+".version", "%s", messageOf(err))
		}
		sub := DeployRequest{App: a.App, Requires: a.Requires}
		var reqs FieldErrors
		sub.validateRequires(&reqs)
		for _, e := range reqs {
			fe.Add(fmt.Sprintf("%s.%s", field, e.Field), "%s", e.Message)
		}
	}
	return true
}
