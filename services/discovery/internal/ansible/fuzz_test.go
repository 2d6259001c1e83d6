package ansible

import (
	"os"
	"testing"
)

// FuzzParseList: no input makes the --list decoder or the flattening panic
// or loop, and a successful parse flattens or fails cleanly.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		`{"web": {"hosts": ["a"], "vars": {"k": 1}, "children": ["east"]}, "east": ["b"], "_meta": {"hostvars": {"a": {"ansible_host": "x"}}}}`,
		`{"a": {"children": ["b"]}, "b": {"children": ["a"]}}`,
		`{"web": ["a"]}`, `[]`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../plugin/testdata/nested.sh"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ParseList(b)
		if err != nil {
			return
		}
		hs, err := inv.Hosts()
		if err != nil {
			return
		}
		for _, h := range hs {
			if h.Name == "" || h.Address == "" {
				t.Fatalf("host without name or address: %+v", h)
			}
		}
		if _, err := ParseHostVars(b); err != nil {
			return
		}
	})
}

// FuzzParseINI: the INI reader never panics, and every host it accepts
// has a name and an address.
func FuzzParseINI(f *testing.F) {
	for _, s := range []string{
		"h1 a=1\n[web]\nw1 ansible_host=1.2.3.4 m=\"a b\"\n[web:vars]\nk = v\n[p:children]\nweb\n",
		"[a:children]\nb\n[b:children]\na\n",
		"[x\n", "",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../plugin/testdata/hosts.ini"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ParseINI(b)
		if err != nil {
			return
		}
		hs, err := inv.Hosts()
		if err != nil {
			return
		}
		for _, h := range hs {
			if h.Name == "" || h.Address == "" {
				t.Fatalf("host without name or address: %+v", h)
			}
		}
	})
}
