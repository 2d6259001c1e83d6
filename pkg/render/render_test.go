package render

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func action() contracts.HostAction {
	return contracts.HostAction{
		ID: "r1/0/web-01/attempt-1", Rollout: "r1", Environment: "prod", App: "web",
		Version: "2.4.1", PreviousVersion: "2.4.0", Attempt: 2,
		Host: contracts.ActionHost{Name: "web-01", Address: "10.0.0.1:8080",
			Params: map[string]string{"port": "8080", "role": "edge"}},
		Params: map[string]string{"role": "canary", "ticket": "OPS-1"},
	}
}

func TestString(t *testing.T) {
	d := DataOf(action())
	tests := []struct {
		name, text, want, wantErr string
	}{
		{name: "plain", text: "./deploy.sh", want: "./deploy.sh"},
		{name: "host", text: "{{.Host.Name}} {{.Host.Address}}", want: "web-01 10.0.0.1:8080"},
		{name: "host param", text: "{{.Host.Params.port}}", want: "8080"},
		{name: "release", text: "{{.App}}@{{.Version}} from {{.PreviousVersion}} in {{.Rollout}}/{{.Environment}}",
			want: "web@2.4.1 from 2.4.0 in r1/prod"},
		{name: "idempotency key", text: "{{.ActionID}}#{{.Attempt}}", want: "r1/0/web-01/attempt-1#2"},
		{name: "action param overlays host", text: `{{index .Params "role"}}`, want: "canary"},
		{name: "host param in merged", text: `{{index .Params "port"}}`, want: "8080"},
		{name: "host params keep own value", text: `{{.Host.Params.role}}`, want: "edge"},
		{name: "missing host param", text: "{{.Host.Params.nope}}", wantErr: `template driver.exec.command[1] "{{.Host.Params.nope}}"`},
		{name: "missing index", text: `{{index .Params "nope"}}`, wantErr: `no parameter "nope"`},
		{name: "unknown field", text: "{{.Hots.Name}}", wantErr: "can't evaluate field Hots"},
		{name: "syntax", text: "{{.Host.Name", wantErr: "unclosed action"},
		{name: "too long", text: `{{printf "%0100000d" 1}}`, wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := String("driver.exec.command[1]", tt.text, d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDataOfNilParams(t *testing.T) {
	a := action()
	a.Host.Params, a.Params = nil, nil
	_, err := String("x", "{{.Host.Params.port}}", DataOf(a))
	if err == nil {
		t.Fatal("missing key in a nil map rendered")
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"{{.Host.Name}}", `{{index .Params "role"}}`, "{{.Host.Params.port}}", "{{", "}}{{end}}",
		"{{range .Params}}{{.}}{{end}}", `{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`, "{{printf \"%0999999d\" 1}}"} {
		f.Add(s)
	}
	d := DataOf(action())
	f.Fuzz(func(t *testing.T, text string) {
		out, err := String("t", text, d)
		if err == nil && len(out) > MaxOutput {
			t.Fatalf("output of %d bytes", len(out))
		}
	})
}

func TestCompileAgreesWithString(t *testing.T) {
	d := DataOf(action())
	for _, text := range []string{"plain", "{{.Host.Name}}:{{index .Params \"role\"}}", "{{index .Params \"nope\"}}", "{{.Nope}}"} {
		want, wantErr := String("x", text, d)
		tmpl, err := Compile("x", text)
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr := tmpl.Execute(d)
		if got != want || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: Execute = %q, %v; String = %q, %v", text, got, gotErr, want, wantErr)
		}
	}
	if _, err := Compile("x", "{{"); err == nil {
		t.Fatal("unparsable template compiled")
	}
}
