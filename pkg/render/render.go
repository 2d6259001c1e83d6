// Package render expands the templates of a host action (exec argv and
// environment, check URLs) against the action's own data. The executor
// renders with it when it acts, and the planner renders every template for
// every target host before anything runs, so both agree on what renders.
package render

import (
	"fmt"
	"maps"
	"strings"
	"text/template"

	"github.com/rollwave/rollwave/contracts"
)

// MaxOutput bounds what one template may produce, so a template cannot make
// an executor build an unbounded string.
const MaxOutput = 64 << 10

// Data is what a template sees.
type Data struct {
	Host            Host
	App             string
	Version         string
	PreviousVersion string
	Rollout         string
	Environment     string
	// ActionID and Attempt are the idempotency key of the action: the
	// same on every delivery of it, including after an executor crash.
	ActionID string
	Attempt  int
	// Params is the host's parameters overlaid by the action's.
	Params map[string]string
	// Target and From, for a traffic action, are the sets traffic goes to
	// and comes from (label values such as green and blue).
	Target string
	From   string
}

// Host is the host part of Data.
type Host struct {
	Name    string
	Address string
	Params  map[string]string
}

// DataOf builds the template data of an action.
func DataOf(a contracts.HostAction) Data {
	return Data{
		Host: Host{
			Name:    a.Host.Name,
			Address: a.Host.Address,
			Params:  orEmpty(a.Host.Params),
		},
		App:             a.App,
		Version:         a.Version,
		PreviousVersion: a.PreviousVersion,
		Rollout:         a.Rollout,
		Environment:     a.Environment,
		ActionID:        a.ID,
		Attempt:         a.Attempt,
		Params:          MergeParams(a),
		Target:          trafficOf(a).Target,
		From:            trafficOf(a).From,
	}
}

func trafficOf(a contracts.HostAction) contracts.PlannedTraffic {
	if a.Traffic == nil {
		return contracts.PlannedTraffic{}
	}
	return *a.Traffic
}

// MergeParams returns the host's parameters overlaid by the action's.
func MergeParams(a contracts.HostAction) map[string]string {
	out := make(map[string]string, len(a.Host.Params)+len(a.Params))
	maps.Copy(out, a.Host.Params)
	maps.Copy(out, a.Params)
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// String renders text. name identifies the template in errors, such as
// "driver.exec.command[1]". A key missing from a map is an error, whether it
// is reached as .Host.Params.x or with index, so a typo never renders as an
// empty argument.
func String(name, text string, d Data) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"index": strictIndex}).Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %s %q: %w", name, clip(text), err)
	}
	w := &boundedWriter{max: MaxOutput}
	if err := t.Execute(w, d); err != nil {
		return "", fmt.Errorf("template %s %q: %w", name, clip(text), err)
	}
	return w.b.String(), nil
}

// Template is a template parsed once, to render for many hosts.
type Template struct {
	name, text string
	t          *template.Template
}

// Compile parses text for rendering with Execute; name identifies it in
// errors as in String.
func Compile(name, text string) (*Template, error) {
	if !strings.Contains(text, "{{") {
		return &Template{name: name, text: text}, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"index": strictIndex}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s %q: %w", name, clip(text), err)
	}
	return &Template{name: name, text: text, t: t}, nil
}

// Execute renders the template against d, as String would.
func (t *Template) Execute(d Data) (string, error) {
	if t.t == nil {
		return t.text, nil
	}
	w := &boundedWriter{max: MaxOutput}
	if err := t.t.Execute(w, d); err != nil {
		return "", fmt.Errorf("template %s %q: %w", t.name, clip(t.text), err)
	}
	return w.b.String(), nil
}

// strictIndex replaces the builtin index for the string maps of Data: the
// builtin returns "" for a missing key even with missingkey=error.
func strictIndex(m map[string]string, key string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("no parameter %q", key)
	}
	return v, nil
}

type boundedWriter struct {
	b   strings.Builder
	max int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, fmt.Errorf("output is longer than %d bytes", w.max)
	}
	return w.b.Write(p)
}

// clip shortens a template quoted in an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
