package contracts

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestSplitAddress(t *testing.T) {
	good := []struct {
		in   string
		host string
		port int
	}{
		{"10.0.0.1", "10.0.0.1", 0},
		{"10.0.0.1:8080", "10.0.0.1", 8080},
		{"web-01", "web-01", 0},
		{"web-01.example.com:22", "web-01.example.com", 22},
		{"1.example.com", "1.example.com", 0},
		{"[::1]", "::1", 0},
		{"[::1]:2222", "::1", 2222},
		{"[2001:db8::7]:65535", "2001:db8::7", 65535},
		{"[fe80::1%eth0]:22", "fe80::1%eth0", 22},
		{"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1},
	}
	for _, tt := range good {
		host, port, problem := SplitAddress(tt.in)
		if problem != "" || host != tt.host || port != tt.port {
			t.Errorf("SplitAddress(%q) = %q, %d, %q; want %q, %d", tt.in, host, port, problem, tt.host, tt.port)
		}
	}
	bad := []struct{ in, want string }{
		{"", "must not be empty"},
		{"127.0.0.1:1;touch x", "port that is not a number"},
		{"127.0.0.1;touch x", "neither a DNS name"},
		{"$(touch x)", "neither a DNS name"},
		{"`id`:22", "neither a DNS name"},
		{"a b", "neither a DNS name"},
		{"web-01\n", "neither a DNS name"},
		{"http://web-01", "port that is not a number"},
		{"web-01/x", "neither a DNS name"},
		{"-web", "neither a DNS name"},
		{"web..01", "neither a DNS name"},
		{":22", "no host before the port"},
		{"web:", "empty port"},
		{"web:0", "1-65535"},
		{"web:65536", "1-65535"},
		{"web:+22", "1-65535"},
		{"web:022", "1-65535"},
		{"web:123456", "1-65535"},
		{"::1", "write it in brackets"},
		{"2001:db8::7:22", "write it in brackets"},
		{"[::1", "does not close"},
		{"[::1]x", "after ']'"},
		{"[10.0.0.1]:22", "no IPv6 address"},
		{"[web-01]:22", "no IPv6 address"},
		{"[fe80::1%e;x]:22", "zone"},
		{"999.0.0.1", "not a valid IPv4"},
		{"10.0.0", "not a valid IPv4"},
		{"web'01", "neither a DNS name"},
		{strings.Repeat("a", 300), "characters long"},
	}
	for _, tt := range bad {
		_, _, problem := SplitAddress(tt.in)
		if !strings.Contains(problem, tt.want) {
			t.Errorf("SplitAddress(%q) problem = %q, want it to contain %q", tt.in, problem, tt.want)
		}
		if tt.in != "" && !strings.Contains(problem, "host[:port]") {
			t.Errorf("SplitAddress(%q) problem %q does not state the rule", tt.in, problem)
		}
	}
}

// FuzzSplitAddress checks the address parser never panics, and that what
// it accepts is safe in a shell word and a URL and splits and joins back to
// the same text.
func FuzzSplitAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1:8080", "web-01", "[::1]:22", "[fe80::1%eth0]", "127.0.0.1:1;touch x", "a:b:c", "[", "x:", "1.2.3.999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		host, port, problem := SplitAddress(addr)
		if problem != "" {
			if host != "" || port != 0 {
				t.Fatalf("refused %q but returned %q, %d", addr, host, port)
			}
			return
		}
		if strings.ContainsAny(addr, " \t\r\n;&|$`'\"\\<>()*?!{}/#~") {
			t.Fatalf("accepted %q, which holds a shell or URL metacharacter", addr)
		}
		if port < 0 || port > 65535 {
			t.Fatalf("accepted %q with port %d", addr, port)
		}
		back := host
		if strings.Contains(host, ":") {
			back = "[" + host + "]"
		}
		if port != 0 {
			back = net.JoinHostPort(host, strconv.Itoa(port))
		}
		if back != addr {
			t.Fatalf("%q splits into %q, %d, which joins back as %q", addr, host, port, back)
		}
	})
}
