package ansible

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// ParseList reads the JSON a dynamic-inventory script prints for --list:
//
//	{"web": {"hosts": ["a"], "vars": {"k": "v"}, "children": ["east"]},
//	 "db": ["b"],
//	 "_meta": {"hostvars": {"a": {"ansible_host": "10.0.0.1"}}}}
//
// A group is an object of hosts, vars and children, or the short form, a
// list of hosts. Unknown keys in a group are refused.
func ParseList(b []byte) (Inventory, error) {
	var top map[string]json.RawMessage
	if err := decodeOne(b, &top); err != nil {
		return Inventory{}, fmt.Errorf("--list output: %w", err)
	}
	if top == nil {
		return Inventory{}, fmt.Errorf("--list output: must be a JSON object")
	}
	inv := Inventory{Groups: map[string]*Group{}, HostVars: map[string]map[string]string{}}
	for _, name := range sortedKeys(top) {
		raw := top[name]
		if name == "_meta" {
			if err := inv.meta(raw); err != nil {
				return Inventory{}, err
			}
			continue
		}
		if name == "" {
			return Inventory{}, fmt.Errorf("--list output: a group has an empty name")
		}
		if err := inv.jsonGroup(name, raw); err != nil {
			return Inventory{}, err
		}
	}
	for _, g := range inv.Groups {
		for _, c := range g.Children {
			inv.group(c)
		}
	}
	return inv, nil
}

func (inv *Inventory) meta(raw json.RawMessage) error {
	var m struct {
		HostVars map[string]json.RawMessage `json:"hostvars"`
	}
	if err := decodeOne(raw, &m); err != nil {
		return fmt.Errorf("--list output: _meta: %w", err)
	}
	inv.HasMeta = true
	for _, h := range sortedKeys(m.HostVars) {
		if h == "" {
			return fmt.Errorf("--list output: _meta.hostvars: a host has an empty name")
		}
		vars, err := parseVars(m.HostVars[h])
		if err != nil {
			return fmt.Errorf("--list output: _meta.hostvars[%q]: %w", h, err)
		}
		inv.HostVars[h] = vars
	}
	return nil
}

func (inv *Inventory) jsonGroup(name string, raw json.RawMessage) error {
	field := fmt.Sprintf("--list output: group %q", name)
	g := inv.group(name)
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var hosts []string
		if err := decodeOne(raw, &hosts); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		return inv.addHosts(field, name, hosts)
	}
	var v struct {
		Hosts    []string        `json:"hosts"`
		Vars     json.RawMessage `json:"vars"`
		Children []string        `json:"children"`
	}
	if err := decodeOne(raw, &v); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if err := inv.addHosts(field, name, v.Hosts); err != nil {
		return err
	}
	vars, err := parseVars(v.Vars)
	if err != nil {
		return fmt.Errorf("%s: vars: %w", field, err)
	}
	g.Vars = vars
	for _, c := range v.Children {
		if c == "" {
			return fmt.Errorf("%s: children: a child has an empty name", field)
		}
		if !slices.Contains(g.Children, c) {
			g.Children = append(g.Children, c)
		}
	}
	return nil
}

func (inv *Inventory) addHosts(field, group string, hosts []string) error {
	for _, h := range hosts {
		if h == "" {
			return fmt.Errorf("%s: hosts: a host has an empty name", field)
		}
		inv.addHost(group, h)
	}
	return nil
}

// ParseHostVars reads the JSON object a script prints for --host <name>.
func ParseHostVars(b []byte) (map[string]string, error) {
	vars, err := parseVars(b)
	if err != nil {
		return nil, fmt.Errorf("--host output: %w", err)
	}
	return vars, nil
}

// parseVars reads an object of variables. Parameters are strings: a
// string is kept as it is, a number or boolean as its JSON text, and a
// list or object as compact JSON, so templates can still see it.
func parseVars(raw json.RawMessage) (map[string]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := decodeOne(raw, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		if k == "" {
			return nil, fmt.Errorf("a variable has an empty name")
		}
		v := bytes.TrimSpace(m[k])
		switch {
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("variable %q: %w", k, err)
			}
			out[k] = s
		case string(v) == "null":
			out[k] = ""
		default:
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, fmt.Errorf("variable %q: %w", k, err)
			}
			out[k] = c.String()
		}
	}
	return out, nil
}

// decodeOne decodes exactly one JSON value, refusing unknown fields and
// trailing data.
func decodeOne(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return fmt.Errorf("is empty, want a JSON object")
		}
		return jsonProblem(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("has data after the JSON value (offset %d)", dec.InputOffset())
	}
	return nil
}

// jsonProblem adds the line of a syntax or type error.
func jsonProblem(b []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return fmt.Errorf("is not valid: %w", err)
	}
	return fmt.Errorf("is not valid at line %s: %w", strconv.Itoa(1+bytes.Count(b[:off], []byte{'\n'})), err)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
