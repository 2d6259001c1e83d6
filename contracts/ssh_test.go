package contracts

import (
	"strings"
	"testing"
	"time"
)

func TestSSHDriverValidate(t *testing.T) {
	good := func() *SSHDriver {
		return &SSHDriver{User: "deploy", Command: []string{"/opt/deploy", "{{.Version}}"}, KeyFile: "/etc/rollwave/id_ed25519",
			Env: map[string]string{"MODE": "{{index .Params \"mode\"}}"}, Port: 2222, Timeout: Duration(time.Minute)}
	}
	if fe := (DriverSpec{SSH: good()}).Validate("driver"); fe != nil {
		t.Fatalf("a good ssh driver is refused: %v", fe)
	}
	tests := []struct {
		name   string
		change func(s *SSHDriver)
		field  string
		want   string
	}{
		{"no user", func(s *SSHDriver) { s.User = "" }, "driver.ssh.user", "is required"},
		{"user with a command", func(s *SSHDriver) { s.User = "root;id" }, "driver.ssh.user", "must be a login name"},
		{"no command", func(s *SSHDriver) { s.Command = nil }, "driver.ssh.command", "is required"},
		{"blank program", func(s *SSHDriver) { s.Command = []string{" "} }, "driver.ssh.command[0]", "must name the program"},
		{"bad template", func(s *SSHDriver) { s.Command = []string{"x", "{{.Version"} }, "driver.ssh.command[1]", "template"},
		{"bad env name", func(s *SSHDriver) { s.Env = map[string]string{"A=B": "x"} }, `driver.ssh.env["A=B"]`, "environment variable name"},
		{"port high", func(s *SSHDriver) { s.Port = 65536 }, "driver.ssh.port", "1-65535"},
		{"port negative", func(s *SSHDriver) { s.Port = -1 }, "driver.ssh.port", "1-65535"},
		{"no key", func(s *SSHDriver) { s.KeyFile = "" }, "driver.ssh.key_file", "is required"},
		{"insecure and known hosts", func(s *SSHDriver) { s.InsecureIgnoreHostKey, s.KnownHosts = true, "/k" }, "driver.ssh.insecure_ignore_host_key", "contradicts"},
		{"negative timeout", func(s *SSHDriver) { s.Timeout = -1 }, "driver.ssh.timeout", "negative"},
		{"negative connect timeout", func(s *SSHDriver) { s.ConnectTimeout = -1 }, "driver.ssh.connect_timeout", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.change(s)
			fe := DriverSpec{SSH: s}.Validate("driver")
			for _, e := range fe {
				if e.Field == tt.field && strings.Contains(e.Message, tt.want) {
					return
				}
			}
			t.Fatalf("got %v, want %s: ...%s...", fe, tt.field, tt.want)
		})
	}
	if fe := (DriverSpec{SSH: good(), Exec: &ExecDriver{Command: []string{"x"}}}).Validate("driver"); len(fe) != 1 || !strings.Contains(fe[0].Message, "2 are set") {
		t.Fatalf("two variants: %v", fe)
	}
}

// An ssh driver in a request runs a command of the requester's choosing,
// as exec does.
func TestRequestCommandField(t *testing.T) {
	for _, tt := range []struct {
		d    *DriverSpec
		want string
	}{
		{nil, ""},
		{&DriverSpec{Sim: &SimDriver{}}, ""},
		{&DriverSpec{Exec: &ExecDriver{}}, "driver.exec.command"},
		{&DriverSpec{SSH: &SSHDriver{}}, "driver.ssh.command"},
	} {
		if got := RequestCommandField(tt.d); got != tt.want {
			t.Errorf("RequestCommandField(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if (DriverSpec{SSH: &SSHDriver{}}).Name() != "ssh" {
		t.Fatal("Name of an ssh driver")
	}
}
