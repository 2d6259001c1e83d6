package contracts

import (
	"regexp"
	"strings"
)

// SSHDriver runs a command on the host over SSH, as User, authenticated
// by the private key in KeyFile, after verifying the host's key against
// KnownHosts. It dials the host part of the host's address at Port (22
// when unset): a port in the address is the application's.
//
// Each element of Command and each Env value is a template over the host
// action, like ExecDriver's. The remote login shell sees each rendered
// element as one single-quoted word, so no value can break out of it; the
// environment (Env, ROLLWAVE_ACTION_ID, ROLLWAVE_ATTEMPT, ...) is passed as
// quoted `env` assignments in the command, because sshd accepts no
// variables by default. The remote login shell must be a POSIX shell.
type SSHDriver struct {
	User    string            `json:"user"`
	Command []string          `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Port    int               `json:"port,omitempty"`
	// KeyFile is the path, on the executor, of an unencrypted private key
	// in OpenSSH or PEM form: keys are the only authentication.
	KeyFile string `json:"key_file"`
	// KnownHosts is the path, on the executor, of an OpenSSH known_hosts
	// file (default ~/.ssh/known_hosts of the executor's user).
	KnownHosts string `json:"known_hosts,omitempty"`
	// Timeout bounds the whole action, connecting included (default 10m).
	Timeout Duration `json:"timeout,omitempty"`
	// ConnectTimeout bounds the TCP connection and SSH handshake (default
	// 15s).
	ConnectTimeout Duration `json:"connect_timeout,omitempty"`
	// InsecureIgnoreHostKey skips host key verification, so anyone on the
	// path can impersonate the host. Every action says so in the log.
	InsecureIgnoreHostKey bool `json:"insecure_ignore_host_key,omitempty"`
}

// sshUser is what a login name may hold: it travels in the SSH protocol,
// not a shell, but a name outside this set is a mistake.
var sshUser = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`)

// validateSSH checks an SSH driver; field is its path, such as
// "driver.ssh".
func validateSSH(fe *FieldErrors, field string, s *SSHDriver) {
	if s.User == "" {
		fe.Add(field+".user", "is required: the login name on the host")
	} else if !sshUser.MatchString(s.User) {
		fe.Add(field+".user", "must be a login name: a letter or '_', then up to 63 letters, digits, '_', '.' or '-', got %q", clip(s.User))
	}
	validateProgram(fe, field, s.Command, s.Env)
	if s.Port < 0 || s.Port > 65535 {
		fe.Add(field+".port", "must be a port 1-65535 (or unset for 22), got %d", s.Port)
	}
	if strings.TrimSpace(s.KeyFile) == "" {
		fe.Add(field+".key_file", "is required: the private key the executor logs in with (keys are the only authentication)")
	}
	if s.InsecureIgnoreHostKey && s.KnownHosts != "" {
		fe.Add(field+".insecure_ignore_host_key", "contradicts known_hosts: set one of them")
	}
	nonNegative(fe, field+".timeout", s.Timeout)
	nonNegative(fe, field+".connect_timeout", s.ConnectTimeout)
}
