package contracts

import (
	"strings"
	"testing"
)

func TestOverrideValidate(t *testing.T) {
	ok := validRequest()
	ok.Override = &Override{Lifecycle: true, Reason: "hotfix for INC-42"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid override: %v", err)
	}
	for _, tc := range []struct {
		name  string
		o     Override
		field string
	}{
		{"no reason", Override{Lifecycle: true}, "override.reason"},
		{"blank reason", Override{Lifecycle: true, Reason: "  "}, "override.reason"},
		{"long reason", Override{Lifecycle: true, Reason: strings.Repeat("x", MaxOverrideReason+1)}, "override.reason"},
		{"two lines", Override{Lifecycle: true, Reason: "a\nb"}, "override.reason"},
		{"overrides nothing", Override{Reason: "why not"}, "override.lifecycle"},
	} {
		r := validRequest()
		r.Override = &tc.o
		fe := AsFieldErrors(r.Validate())
		if len(fe) != 1 || fe[0].Field != tc.field {
			t.Errorf("%s: got %v, want one problem at %s", tc.name, fe, tc.field)
		}
	}
}

func TestOverrideDecodesStrictly(t *testing.T) {
	body := `{"id":"r-1","app":"web","version":"1.0.0","environment":"prod","phases":[{"name":"all"}],` +
		`"override":{"lifecycle":true,"reason":"hotfix","force":true}}`
	_, err := DecodeDeployRequest([]byte(body))
	if fe := AsFieldErrors(err); len(fe) == 0 || fe[0].Field != "override.force" {
		t.Fatalf("unknown override field: got %v, want override.force named", err)
	}
}

func TestLifecycleCodeMapsTo422(t *testing.T) {
	if CodeLifecycle.HTTPStatus() != 422 {
		t.Fatalf("lifecycle maps to %d", CodeLifecycle.HTTPStatus())
	}
	e := AsError(FieldErrors{{Field: "environment", Message: "not in staging yet", Code: CodeLifecycle}})
	if e.Code != CodeLifecycle || e.Field != "environment" {
		t.Fatalf("AsError kept %+v", e)
	}
}
