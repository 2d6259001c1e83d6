package ansible

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// maxLine bounds one INI line; a longer one is refused rather than read.
const maxLine = 64 << 10

// ParseINI reads Ansible's INI inventory format:
//
//	top-host ansible_host=10.0.0.9     # before any section: ungrouped
//	[web]
//	web-01 ansible_host=10.0.0.1 http_port=8080 motd="hello world"
//	[web:vars]
//	tier = web
//	[prod:children]
//	web
//
// Comments start with # or ;. Host ranges (web[01:10]) and sections other
// than :vars and :children are refused, naming the line.
func ParseINI(b []byte) (Inventory, error) {
	inv := Inventory{Groups: map[string]*Group{}, HostVars: map[string]map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	group, kind := groupUngrouped, ""
	seen := map[string]bool{}
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
		}
		if text[0] == '[' {
			if !strings.HasSuffix(text, "]") {
				return Inventory{}, fail("a section header must end with ']'")
			}
			name := strings.TrimSpace(text[1 : len(text)-1])
			group, kind = name, ""
			if i := strings.IndexByte(name, ':'); i >= 0 {
				group, kind = name[:i], name[i+1:]
			}
			switch {
			case group == "":
				return Inventory{}, fail("a section has an empty group name")
			case strings.ContainsAny(group, " \t[]:="):
				return Inventory{}, fail("group name %q must not contain spaces or any of []:=", group)
			case strings.Contains(name, ":") && kind != "vars" && kind != "children":
				return Inventory{}, fail("unknown section kind %q (known: vars, children)", kind)
			case seen[name]:
				return Inventory{}, fail("section [%s] is given twice", name)
			}
			seen[name] = true
			inv.group(group)
			continue
		}
		switch kind {
		case "":
			fields, err := splitFields(text)
			if err != nil {
				return Inventory{}, fail("%v", err)
			}
			host := fields[0]
			if host == "" {
				return Inventory{}, fail("a host has an empty name")
			}
			if strings.ContainsAny(host, "=[]") {
				return Inventory{}, fail("host %q: host ranges and '=' in names are not supported", host)
			}
			inv.addHost(group, host)
			vars := inv.HostVars[host]
			for _, f := range fields[1:] {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k == "" {
					return Inventory{}, fail("host %q: %q is not key=value", host, f)
				}
				if vars == nil {
					vars = map[string]string{}
				}
				vars[k] = v
			}
			inv.HostVars[host] = vars
		case "vars":
			k, v, ok := strings.Cut(text, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return Inventory{}, fail("[%s:vars]: %q is not key=value", group, text)
			}
			unq, err := unquote(v)
			if err != nil {
				return Inventory{}, fail("[%s:vars] %s: %v", group, k, err)
			}
			g := inv.group(group)
			if g.Vars == nil {
				g.Vars = map[string]string{}
			}
			g.Vars[k] = unq
		case "children":
			if strings.ContainsAny(text, " \t[]:=") {
				return Inventory{}, fail("[%s:children]: %q is not a group name", group, text)
			}
			g := inv.group(group)
			if !slices.Contains(g.Children, text) {
				g.Children = append(g.Children, text)
			}
			inv.group(text)
		}
	}
	if err := sc.Err(); err != nil {
		return Inventory{}, fmt.Errorf("read INI inventory: %w", err)
	}
	if g := inv.Groups[groupUngrouped]; g != nil && len(g.Hosts) == 0 && len(g.Vars) == 0 && len(g.Children) == 0 {
		delete(inv.Groups, groupUngrouped)
	}
	return inv, nil
}

// splitFields splits a host line on blanks, keeping quoted values ("a b"
// or 'a b') together and dropping a trailing comment.
func splitFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote byte
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == '#' && !in:
			i = len(s)
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty host line")
	}
	return out, nil
}

// unquote strips one pair of matching quotes around a whole value.
func unquote(v string) (string, error) {
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		if len(v) < 2 || v[len(v)-1] != v[0] {
			return "", fmt.Errorf("unterminated %c quote", v[0])
		}
		return v[1 : len(v)-1], nil
	}
	return v, nil
}
