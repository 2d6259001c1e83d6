package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// Limits that keep a hostile spec from costing more than a large honest one.
const (
	// MaxSize is the largest spec file accepted.
	MaxSize = 4 << 20
	// maxJSON bounds the JSON a spec expands to: aliases can make a small
	// document expand exponentially ("billion laughs").
	maxJSON = 16 << 20
)

// kind is the JSON kind of a value.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k kind) String() string {
	return [...]string{"null", "true or false", "number", "string", "object", "list"}[k]
}

// value is one node of a spec after YAML has been resolved (aliases
// followed, merge keys applied, tags turned into JSON kinds), keeping the
// line it came from so that errors can point at it. Aliases share the value
// of their anchor, so the tree stays the size of the document.
type value struct {
	kind   kind
	line   int
	raw    []byte // JSON text of a scalar
	text   string // the scalar as written, for messages
	fields []field
	items  []*value
}

type field struct {
	key   string
	line  int
	value *value
}

// field returns the field named key, or nil.
func (v *value) field(key string) *field {
	if v.kind != kindObject {
		return nil
	}
	for i := range v.fields {
		if v.fields[i].key == key {
			return &v.fields[i]
		}
	}
	return nil
}

// builder turns a YAML node tree into values.
type builder struct {
	done  map[*yaml.Node]*value
	doing map[*yaml.Node]bool
}

func lineErr(line int, format string, args ...any) error {
	return contracts.Invalid("", "line %d: %s", line, fmt.Sprintf(format, args...))
}

func (b *builder) build(n *yaml.Node) (*value, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, lineErr(n.Line, "alias *%s names no anchor", n.Value)
		}
		n = n.Alias
	}
	if v, ok := b.done[n]; ok {
		return v, nil
	}
	if b.doing[n] {
		return nil, lineErr(n.Line, "anchor &%s contains itself", n.Anchor)
	}
	b.doing[n] = true
	defer delete(b.doing, n)
	var v *value
	var err error
	switch n.Kind {
	case yaml.MappingNode:
		v, err = b.mapping(n)
	case yaml.SequenceNode:
		v = &value{kind: kindArray, line: n.Line, items: make([]*value, 0, len(n.Content))}
		for _, c := range n.Content {
			item, err := b.build(c)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, item)
		}
	case yaml.ScalarNode:
		v, err = scalar(n)
	default:
		err = lineErr(n.Line, "unexpected YAML node")
	}
	if err != nil {
		return nil, err
	}
	b.done[n] = v
	return v, nil
}

// mapping builds an object. Keys written in the mapping win over keys
// merged in with "<<"; among merged mappings the first wins, as YAML's
// merge key specifies.
func (b *builder) mapping(n *yaml.Node) (*value, error) {
	if len(n.Content)%2 != 0 {
		return nil, lineErr(n.Line, "mapping has a key without a value")
	}
	v := &value{kind: kindObject, line: n.Line}
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, lineErr(k.Line, "a key must be a plain value, not a %s", nodeKind(k))
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, lineErr(k.Line, "key %q repeats the one on line %d", k.Value, prev)
		}
		seen[k.Value] = k.Line
		fv, err := b.build(val)
		if err != nil {
			return nil, err
		}
		v.fields = append(v.fields, field{key: k.Value, line: k.Line, value: fv})
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if r := resolveAlias(m); r.Kind == yaml.SequenceNode {
			sources = r.Content
		}
		for _, s := range sources {
			sv, err := b.build(s)
			if err != nil {
				return nil, err
			}
			if sv.kind != kindObject {
				return nil, lineErr(s.Line, "a merge key (<<) takes a mapping or a list of mappings, not a %s", sv.kind)
			}
			for _, f := range sv.fields {
				if _, ok := seen[f.key]; ok {
					continue
				}
				seen[f.key] = f.line
				v.fields = append(v.fields, f)
			}
		}
	}
	return v, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// scalar resolves a YAML scalar to a JSON value by its tag.
func scalar(n *yaml.Node) (*value, error) {
	v := &value{line: n.Line, text: n.Value}
	var err error
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp":
		// Timestamps stay text: the field's own decoder reads RFC 3339.
		v.kind = kindString
		v.raw, err = json.Marshal(n.Value)
	case "!!null":
		v.kind, v.raw = kindNull, []byte("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, lineErr(n.Line, "%q is not true or false", n.Value)
		}
		v.kind, v.raw = kindBool, strconv.AppendBool(nil, b)
	case "!!int", "!!float":
		var x any
		if err := n.Decode(&x); err != nil {
			return nil, lineErr(n.Line, "%q is not a number", n.Value)
		}
		v.kind = kindNumber
		if isJSONNumber(n.Value) {
			// As written, so that 1.0 stays a fraction to a whole-number
			// field, as it would in JSON.
			v.raw = []byte(n.Value)
			break
		}
		switch x := x.(type) {
		case int:
			v.raw = strconv.AppendInt(nil, int64(x), 10)
		case int64:
			v.raw = strconv.AppendInt(nil, x, 10)
		case uint64:
			v.raw = strconv.AppendUint(nil, x, 10)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, lineErr(n.Line, "%s is not a finite number", n.Value)
			}
			v.raw = strconv.AppendFloat(nil, x, 'g', -1, 64)
		default:
			return nil, lineErr(n.Line, "%q is not a number", n.Value)
		}
	default:
		return nil, lineErr(n.Line, "unsupported YAML tag %s on %q", tag, n.Value)
	}
	if err != nil {
		return nil, lineErr(n.Line, "cannot encode %q: %v", n.Value, err)
	}
	return v, nil
}

// errTooLarge reports a spec that expands beyond maxJSON.
var errTooLarge = contracts.Invalid("", "the spec expands to more than %d MiB of JSON (aliases repeated too often?)", maxJSON>>20)

// encode writes v as JSON, stopping once the output passes maxJSON.
func encode(buf *bytes.Buffer, v *value) error {
	if buf.Len() > maxJSON {
		return errTooLarge
	}
	switch v.kind {
	case kindObject:
		buf.WriteByte('{')
		for i, f := range v.fields {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, err := json.Marshal(f.key)
			if err != nil {
				return lineErr(f.line, "cannot encode key %q: %v", f.key, err)
			}
			buf.Write(k)
			buf.WriteByte(':')
			if err := encode(buf, f.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case kindArray:
		buf.WriteByte('[')
		for i, item := range v.items {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encode(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		buf.Write(v.raw)
	}
	return nil
}

// isJSONNumber reports whether s is a number literal JSON accepts as is.
func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
