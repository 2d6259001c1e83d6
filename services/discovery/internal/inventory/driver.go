package inventory

import (
	"encoding/json"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// driver reads a contracts.DriverSpec. The spec's own JSON decoding is the
// single definition of its shape (durations such as "50ms", unknown fields
// rejected), so the YAML is turned into JSON and decoded one field at a
// time: that lets each problem name its exact path, which the JSON decoder
// alone does not do for unknown fields or custom types.
func (p *parser) driver(path string, n *yaml.Node) *contracts.DriverSpec {
	if isNull(n) {
		return nil
	}
	variants, ok := p.mapping(path, n, 0)
	if !ok {
		return nil
	}
	before := len(p.errs)
	whole := map[string]any{}
	for _, v := range variants {
		vpath := join(path, v.key)
		if v.key == "hooks" {
			p.fail(vpath, v.kn, "is not a known driver: hooks go in a procedure's before_host and after_host")
			continue
		}
		if e := decodeDriver(map[string]any{v.key: nil}); e != nil && e.Field == v.key {
			p.fail(vpath, v.kn, "is not a known driver")
			continue
		}
		val, ok := p.jsonValue(vpath, v.val, 0)
		if !ok {
			continue
		}
		if fields, isMap := val.(map[string]any); isMap && v.val.Kind == yaml.MappingNode {
			// jsonValue has reported any problem with the mapping itself.
			reported := len(p.errs)
			entries, _ := p.mapping(vpath, v.val, 0)
			p.errs = p.errs[:reported]
			for _, f := range entries {
				one := map[string]any{v.key: map[string]any{f.key: fields[f.key]}}
				if e := decodeDriver(one); e != nil {
					p.driverProblem(vpath, v.key+"."+f.key, f, e)
				}
			}
		} else if e := decodeDriver(map[string]any{v.key: val}); e != nil {
			p.driverProblem(path, v.key, v, e)
		}
		whole[v.key] = val
	}
	if len(p.errs) != before {
		return nil
	}
	d, err := decodeDriverSpec(whole)
	if err != nil {
		p.fail(path, n, "%s", err.Message)
		return nil
	}
	// The spec's own validation judges the content (exactly one variant,
	// ranges, templates); the YAML line is added here.
	if fe := d.Validate(path); len(fe) > 0 {
		for _, e := range fe {
			p.fail(e.Field, n, "%s", e.Message)
		}
		return nil
	}
	return &d
}

// driverProblem reports a decoding problem of one driver field. rel is the
// path of the field relative to the driver ("sim.median"); the decoder may
// name a deeper one ("exec.env.HOME").
func (p *parser) driverProblem(base, rel string, at entry, e *contracts.Error) {
	field := join(base, at.key)
	if e.Message == "is not a known field" {
		p.fail(field, at.kn, "is not a known field")
		return
	}
	if deeper, ok := strings.CutPrefix(e.Field, rel+"."); ok {
		field += "." + deeper
	}
	p.fail(field, at.val, "%s", e.Message)
}

func decodeDriver(v map[string]any) *contracts.Error {
	_, err := decodeDriverSpec(v)
	return err
}

func decodeDriverSpec(v map[string]any) (contracts.DriverSpec, *contracts.Error) {
	var d contracts.DriverSpec
	b, err := json.Marshal(v)
	if err != nil {
		return d, contracts.Invalid("", "cannot be written as JSON: %v", err)
	}
	if err := contracts.DecodeStrict(b, &d); err != nil {
		return d, contracts.AsError(err)
	}
	return d, nil
}

// jsonValue turns a YAML node into a value json.Marshal accepts, keeping
// YAML's scalar types (numbers, booleans, null) and rejecting what JSON
// cannot hold.
func (p *parser) jsonValue(path string, n *yaml.Node, depth int) (any, bool) {
	n = p.deref(n)
	if depth > maxDepth {
		p.fail(path, n, "nests more than %d levels deep", maxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		entries, ok := p.mapping(path, n, 0)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(entries))
		for _, e := range entries {
			v, ok := p.jsonValue(join(path, e.key), e.val, depth+1)
			if !ok {
				return nil, false
			}
			out[e.key] = v
		}
		return out, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, ok := p.jsonValue(index(path, i), c, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.ScalarNode:
		return p.jsonScalar(path, n)
	}
	if isNull(n) {
		return nil, true
	}
	p.fail(path, n, "is %s", kindName(n))
	return nil, false
}

func (p *parser) jsonScalar(path string, n *yaml.Node) (any, bool) {
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, true
		}
		p.fail(path, n, "is a whole number out of range: %s", n.Value)
		return nil, false
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				p.fail(path, n, "must be a finite number, got %s", n.Value)
				return nil, false
			}
			return f, true
		}
	}
	return n.Value, true
}
