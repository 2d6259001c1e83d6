// Package spec reads rollout spec files: the YAML (or JSON) a person writes
// to describe a deploy request.
//
// There is one decoding path. The YAML is resolved into a tree that keeps
// line numbers (aliases followed, merge keys applied, every scalar turned
// into a JSON value by its tag), written out as JSON and decoded with
// contracts.DecodeStrict, so a spec file accepts exactly what the wire
// accepts; the tree then turns the JSON path of a problem into its line.
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// Parse reads a rollout spec in YAML or JSON into a deploy request. YAML
// anchors, aliases and merge keys (<<) work, and top-level keys starting
// with "x-" are ignored so that they can hold shared anchors. It does
// not set the request id, which callers choose, and does not run
// DeployRequest.Validate; run it after setting the id and pass its error
// through Annotate to point at lines.
//
// Errors are invalid_request errors (*contracts.Error): YAML problems with
// a message that starts with the line, field problems naming the JSON path
// (phases[1].batch) in Field, with the line at the end of the message.
func Parse(b []byte) (req contracts.DeployRequest, err error) {
	root, err := load(b)
	if err != nil {
		return req, err
	}
	var buf bytes.Buffer
	if err := encode(&buf, root); err != nil {
		return req, err
	}
	if err := contracts.DecodeStrict(buf.Bytes(), &req); err != nil {
		return contracts.DeployRequest{}, annotate(root, err)
	}
	return req, nil
}

// Annotate appends the line of the named field to each field error in err,
// as found in the spec doc: "phases[1].batch: must be at least 1 (line 12)".
// Errors without a field, fields the document does not hold, and documents
// that do not parse leave err as it is.
func Annotate(doc []byte, err error) error {
	if err == nil {
		return nil
	}
	root, lerr := load(doc)
	if lerr != nil {
		return err
	}
	return annotate(root, err)
}

func annotate(root *value, err error) error {
	var fe contracts.FieldErrors
	if errors.As(err, &fe) {
		out := make(contracts.FieldErrors, len(fe))
		for i, f := range fe {
			out[i] = contracts.FieldError{Field: f.Field, Message: withLine(f.Message, lineOf(root, f.Field))}
		}
		return out
	}
	var ce *contracts.Error
	if errors.As(err, &ce) && ce.Field != "" {
		c := *ce
		c.Message = withLine(c.Message, lineOf(root, c.Field))
		return &c
	}
	return err
}

func withLine(msg string, line int) string {
	if line <= 0 || strings.HasSuffix(msg, ")") && strings.Contains(msg, "(line ") {
		return msg
	}
	return fmt.Sprintf("%s (line %d)", msg, line)
}

// load parses one YAML document into a value tree.
func load(b []byte) (root *value, err error) {
	if len(b) > MaxSize {
		return nil, contracts.Invalid("", "the spec is %d bytes, more than the %d MiB allowed", len(b), MaxSize>>20)
	}
	if err := checkText(b); err != nil {
		return nil, err
	}
	defer func() {
		// The YAML parser is third-party code fed untrusted input: a panic
		// there must become an error, not a crashed service.
		if r := recover(); r != nil {
			root, err = nil, contracts.Invalid("", "malformed YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, contracts.Invalid("", "the spec is empty")
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, contracts.Invalid("", "line %d: a spec holds one YAML document, found a second one", max(extra.Line, 1))
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err)
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) != 1 {
			return nil, contracts.Invalid("", "the spec is empty")
		}
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, contracts.Invalid("", "the spec is empty")
	}
	if n.Kind != yaml.MappingNode {
		return nil, contracts.Invalid("", "line %d: the spec must be a mapping of fields such as \"app: web\", not a %s", n.Line, nodeKind(n))
	}
	bld := &builder{done: map[*yaml.Node]*value{}, doing: map[*yaml.Node]bool{}}
	root, err = bld.build(n)
	if err != nil {
		return nil, err
	}
	// Top-level "x-" keys are extension fields, as in Compose files: a
	// place to hold anchors for reuse that the request never sees.
	kept := &value{kind: kindObject, line: root.line}
	for _, f := range root.fields {
		if !strings.HasPrefix(f.key, "x-") {
			kept.fields = append(kept.fields, f)
		}
	}
	return kept, nil
}

func yamlError(err error) error {
	return contracts.Invalid("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
}

// checkText rejects what the YAML reader would reject without saying
// where: invalid UTF-8 and control characters.
func checkText(b []byte) error {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return contracts.Invalid("", "line %d: invalid UTF-8 (spec files must be UTF-8 text)", line)
		case r == '\n':
			line++
		case r == '\t', r == '\r', r >= 0x20 && r <= 0x7e, r == 0x85, r >= 0xa0 && r <= 0xd7ff,
			r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		default:
			return contracts.Invalid("", "line %d: control character %U is not allowed", line, r)
		}
		i += size
	}
	return nil
}
