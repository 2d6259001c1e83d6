package ansible

import (
	"reflect"
	"strings"
	"testing"
)

func TestListErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "is empty"},
		{`[]`, "cannot unmarshal array"},
		{`{"web": {"hosts": ["a"], "host": []}}`, `group "web": is not valid`},
		{`{"web": {"hosts": "a"}}`, `group "web": is not valid at line 1`},
		{"{\"web\": {\n\"vars\": {\"k\": }}}", "line 2"},
		{`{"web": ["a", ""]}`, "a host has an empty name"},
		{`{"_meta": {"hostvars": {"a": []}}}`, `_meta.hostvars["a"]`},
		{`{"_meta": {"hostvars": {}, "x": 1}}`, "_meta: is not valid"},
		{`{"web": []} {}`, "data after the JSON value"},
	} {
		if _, err := ParseList([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseList(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestHostsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a": {"children": ["b"]}, "b": {"children": ["c"]}, "c": {"children": ["a"], "hosts": ["h"]}}`,
			"cycle of children: a -> b -> c -> a"},
		{`{"web servers": ["h"]}`, `group "web servers" of host "h"`},
	} {
		inv, err := ParseList([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inv.Hosts(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Hosts(%s) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestHostVars(t *testing.T) {
	got, err := ParseHostVars([]byte(`{"s": "x", "n": 1.5, "b": true, "z": null, "o": {"k": [1, 2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s": "x", "n": "1.5", "b": "true", "z": "", "o": `{"k":[1,2]}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestINIErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[web\nh1", "line 1: a section header must end with ']'"},
		{"[web:hosts]\n", `unknown section kind "hosts"`},
		{"[web]\nweb[01:10]\n", `line 2: host "web[01:10]": host ranges`},
		{"[web]\nh1 port\n", `line 2: host "h1": "port" is not key=value`},
		{"[web]\nh1 motd=\"oops\n", "line 2: unterminated \" quote"},
		{"[web:vars]\njust text\n", `line 2: [web:vars]: "just text" is not key=value`},
		{"[p:children]\nweb east\n", `"web east" is not a group name`},
		{"[web]\n[web]\n", "line 2: section [web] is given twice"},
		{"[]\n", "empty group name"},
	} {
		if _, err := ParseINI([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseINI(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestINIChildrenCycle(t *testing.T) {
	inv, err := ParseINI([]byte("[a:children]\nb\n[b:children]\na\n[a]\nh\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Hosts(); err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Fatalf("Hosts = %v, want the cycle named", err)
	}
}

// TestGroupOrder: vars of groups at one depth apply by name, and a deeper
// group wins over a shallower one whatever the names.
func TestGroupOrder(t *testing.T) {
	inv, err := ParseINI([]byte(`
[zz]
h
[aa]
h
[aa:children]
child
[child]
h
[zz:vars]
k=zz
x=zz
[aa:vars]
k=aa
x=aa
[child:vars]
x=child
`))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := inv.Hosts()
	if err != nil {
		t.Fatal(err)
	}
	if got := hs[0].Params; got["k"] != "zz" || got["x"] != "child" {
		t.Fatalf("params %v, want k=zz (later name at one depth) and x=child (deeper)", got)
	}
}
