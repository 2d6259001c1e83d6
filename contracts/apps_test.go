package contracts

import (
	"strings"
	"testing"
)

func multiRequest() DeployRequest {
	r := validRequest()
	r.App, r.Version = "", ""
	r.Apps = []AppRelease{
		{App: "web", Version: "2.4.1", Requires: []Requirement{{App: "api", Version: ">=3.2.0 <4.0.0"}}},
		{App: "api", Version: "3.2.0"},
	}
	return r
}

func TestValidateApps(t *testing.T) {
	if err := multiRequest().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*DeployRequest)
		field string
		msg   string
	}{
		{"with app", func(r *DeployRequest) { r.App = "web" }, "app", "cannot be combined with apps"},
		{"with version", func(r *DeployRequest) { r.Version = "1.0.0" }, "version", "cannot be combined with apps"},
		{"with requires", func(r *DeployRequest) { r.Requires = []Requirement{{App: "db", Version: "^1"}} }, "requires", "each entry of apps carries its own"},
		{"empty", func(r *DeployRequest) { r.Apps = []AppRelease{} }, "apps", "needs at least one"},
		{"no app", func(r *DeployRequest) { r.Apps[1].App = "" }, "apps[1].app", "is required"},
		{"bad app", func(r *DeployRequest) { r.Apps[1].App = "API" }, "apps[1].app", "lower-case"},
		{"repeated app", func(r *DeployRequest) { r.Apps[1].App = "web" }, "apps[1].app", `repeats "web" (also apps[0])`},
		{"same rollout id", func(r *DeployRequest) {
			r.Apps[0].App, r.Apps[1].App, r.Apps[0].Requires = "a.b", "a_b", nil
		}, "apps[1].app", `gives the rollout id "r-1-a_b", as apps[0] does`},
		{"id too long", func(r *DeployRequest) { r.ID, r.Apps = strings.Repeat("r", 126), r.Apps[1:] }, "apps[0].app", "longer than 128"},
		{"bad version", func(r *DeployRequest) { r.Apps[1].Version = "3 .0" }, "apps[1].version", ""},
		{"no version", func(r *DeployRequest) { r.Apps[1].Version = "" }, "apps[1].version", ""},
		{"requires itself", func(r *DeployRequest) { r.Apps[0].Requires[0].App = "web" }, "apps[0].requires[0].app", "cannot require itself"},
		{"requires without constraint", func(r *DeployRequest) { r.Apps[0].Requires[0].Version = "" }, "apps[0].requires[0].version", "is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := multiRequest()
			r.ID = "r-1"
			tc.edit(&r)
			fe := AsFieldErrors(r.Validate())
			if len(fe) != 1 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.msg) {
				t.Fatalf("Validate = %v, want one problem on %s containing %q", fe, tc.field, tc.msg)
			}
		})
	}
}

func TestMember(t *testing.T) {
	r := multiRequest()
	r.ID = "rel-7"
	m := r.Member(AppRelease{App: "web.ui", Version: "2.0.0", Requires: []Requirement{{App: "api", Version: "^3"}}})
	if m.ID != "rel-7-web_ui" || m.App != "web.ui" || m.Version != "2.0.0" || len(m.Requires) != 1 || m.Apps != nil ||
		m.Environment != r.Environment || len(m.Phases) != len(r.Phases) {
		t.Fatalf("member %+v", m)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeApps(t *testing.T) {
	_, err := DecodeDeployRequest([]byte(`{"id":"r","environment":"prod","phases":[{"name":"all"}],"apps":[{"app":"web","version":"1.0.0","extra":1}]}`))
	if err == nil || !strings.Contains(err.Error(), "apps[0].extra") {
		t.Fatalf("unknown key in apps: %v", err)
	}
	r, err := DecodeDeployRequest([]byte(`{"id":"r","environment":"prod","phases":[{"name":"all"}],"apps":[{"app":"web","version":"1.0.0","requires":[{"app":"api","version":"^3"}]},{"app":"api","version":"3.1.0"}]}`))
	if err != nil || len(r.Apps) != 2 || r.Apps[0].Requires[0].App != "api" {
		t.Fatalf("decode: %+v %v", r.Apps, err)
	}
}
