package main

import (
	"bytes"
	"io"

	"go.yaml.in/yaml/v3"
)

// yamlWriter turns the JSON documents that -o json prints, one per line,
// into YAML documents for -o yaml: every machine-readable path of the CLI
// writes JSON lines, so YAML needs no code of its own in any command.
type yamlWriter struct {
	w       io.Writer
	pending []byte
	docs    int
}

func newYAMLWriter(w io.Writer) *yamlWriter { return &yamlWriter{w: w} }

func (y *yamlWriter) Write(p []byte) (int, error) {
	y.pending = append(y.pending, p...)
	for {
		i := bytes.IndexByte(y.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := y.pending[:i]
		if err := y.writeDoc(line); err != nil {
			return len(p), err
		}
		y.pending = y.pending[i+1:]
	}
}

// writeDoc writes one line as a YAML document; JSON is YAML already, so a
// node decoded from it keeps the key order, and clearing the flow style
// prints it in block form. A line that is not JSON passes unchanged.
func (y *yamlWriter) writeDoc(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	var n yaml.Node
	if line[0] != '{' && line[0] != '[' || yaml.Unmarshal(line, &n) != nil {
		_, err := y.w.Write(append(line, '\n'))
		return err
	}
	blockStyle(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		_, err := y.w.Write(append(line, '\n'))
		return err
	}
	if y.docs > 0 {
		if _, err := io.WriteString(y.w, "---\n"); err != nil {
			return err
		}
	}
	y.docs++
	_, err = y.w.Write(out)
	return err
}

// Flush writes a last line that had no newline.
func (y *yamlWriter) Flush() error {
	if len(y.pending) == 0 {
		return nil
	}
	line := y.pending
	y.pending = nil
	return y.writeDoc(line)
}

func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle && !needsQuotes(n) {
		n.Style = 0
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// needsQuotes keeps quotes on strings that would read as another type.
func needsQuotes(n *yaml.Node) bool {
	if n.Tag != "!!str" {
		return false
	}
	var v any
	if err := yaml.Unmarshal([]byte(n.Value), &v); err != nil {
		return true
	}
	s, ok := v.(string)
	return !ok || s != n.Value
}
