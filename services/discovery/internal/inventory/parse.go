package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// Limits that keep a hostile or broken document from exhausting the
// process: aliases can expand a small file exponentially ("billion laughs"),
// and anchors can refer to themselves.
const (
	// nodesPerByte scales the walk's budget with the document: a document
	// without aliases is visited a few times per node, and a node takes at
	// least one byte.
	nodesPerByte = 10
	minNodes     = 10_000
	maxDepth     = 64
	// maxPosition bounds lifecycle positions to something a person writes.
	maxPosition = 1000
)

// rootField names problems with the document as a whole.
const rootField = "(root)"

// errTooComplex aborts a walk whose alias expansion exceeds its budget.
var errTooComplex = errors.New("too complex")

// Parse reads a YAML inventory, validates it and resolves environment
// defaults into each host. The error is a contracts.FieldErrors listing
// every problem, each naming its field path and YAML line.
func Parse(b []byte) (inv Inventory, err error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Inventory{}, contracts.FieldErrors{{Field: rootField, Message: "the inventory is empty"}}
		}
		return Inventory{}, contracts.FieldErrors{{Field: rootField, Message: "is not valid YAML: " + yamlMessage(err)}}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return Inventory{}, contracts.FieldErrors{{Field: rootField,
			Message: fmt.Sprintf("holds more than one YAML document; the second starts at line %d", extra.Line)}}
	case !errors.Is(err, io.EOF):
		return Inventory{}, contracts.FieldErrors{{Field: rootField, Message: "is not valid YAML: " + yamlMessage(err)}}
	}

	p := &parser{budget: minNodes + nodesPerByte*len(b)}
	defer func() {
		if r := recover(); r != nil {
			if r != errTooComplex {
				panic(r)
			}
			inv = Inventory{}
			err = contracts.FieldErrors{{Field: rootField,
				Message: "expands too far through aliases (more than ten times its own size)"}}
		}
	}()
	inv = p.inventory(&doc)
	if err := p.errs.Err(); err != nil {
		return Inventory{}, err
	}
	return inv, nil
}

func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// parser walks the YAML node tree by hand rather than decoding into
// structs, so that each problem can name its path and line and all of them
// are reported at once.
type parser struct {
	errs   contracts.FieldErrors
	budget int
}

// entry is one key of a mapping, with its value dereferenced.
type entry struct {
	key string
	kn  *yaml.Node
	val *yaml.Node
}

func (p *parser) fail(path string, n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.Line > 0 {
		msg += fmt.Sprintf(" (line %d)", n.Line)
	}
	if path == "" {
		path = rootField
	}
	p.errs.Add(path, "%s", msg)
}

// deref follows an alias to its anchored node and charges the visit to the
// budget.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	p.budget--
	if p.budget < 0 {
		panic(errTooComplex)
	}
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return "a scalar"
	}
	return "an unsupported node"
}

// join appends a key to a path, quoting keys that would make it ambiguous.
func join(path, key string) string {
	simple := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			simple = false
			break
		}
	}
	if !simple {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping returns the entries of a mapping in order, with YAML merge keys
// ("<<: *defaults") resolved: explicit keys win over merged ones and
// earlier merges over later ones. A null value is an empty mapping.
func (p *parser) mapping(path string, n *yaml.Node, depth int) ([]entry, bool) {
	n = p.deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.fail(path, n, "must be a mapping, got %s", kindName(n))
		return nil, false
	}
	if depth > maxDepth {
		p.fail(path, n, "nests more than %d levels deep", maxDepth)
		return nil, false
	}
	var out []entry
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.deref(n.Content[i])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.fail(path, k, "has a key that is %s; keys must be strings", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i+1])
			continue
		}
		if seen[k.Value] {
			p.fail(join(path, k.Value), k, "is given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{key: k.Value, kn: k, val: p.deref(n.Content[i+1])})
	}
	for _, m := range merges {
		m = p.deref(m)
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, src := range sources {
			if s := p.deref(src); s.Kind != yaml.MappingNode {
				p.fail(join(path, "<<"), s, "must be a mapping or a list of mappings to merge, got %s", kindName(s))
				continue
			}
			merged, _ := p.mapping(path, src, depth+1)
			for _, e := range merged {
				if !seen[e.key] {
					seen[e.key] = true
					out = append(out, e)
				}
			}
		}
	}
	return out, true
}

// fields reads a mapping whose keys must be among known.
func (p *parser) fields(path string, n *yaml.Node, known ...string) (map[string]entry, bool) {
	entries, ok := p.mapping(path, n, 0)
	if !ok {
		return nil, false
	}
	out := make(map[string]entry, len(entries))
	for _, e := range entries {
		if !contains(known, e.key) {
			p.fail(join(path, e.key), e.kn, "is not a known field (known: %s)", strings.Join(known, ", "))
			continue
		}
		out[e.key] = e
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// str reads a string field; a missing or null field is "" and, when
// required, a problem.
func (p *parser) str(path string, parent *yaml.Node, f map[string]entry, key string, required bool) string {
	e, ok := f[key]
	if !ok || isNull(e.val) {
		if required {
			at := parent
			if ok {
				at = e.kn
			}
			p.fail(join(path, key), at, "is required")
		}
		return ""
	}
	return p.scalar(join(path, key), e.val)
}

// scalar reads any scalar as its text: YAML would turn "port: 8080" into a
// number, but parameters and labels are strings.
func (p *parser) scalar(path string, n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(path, n, "must be a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

// sequence reads a list; null is an empty list.
func (p *parser) sequence(path string, n *yaml.Node) []*yaml.Node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(path, n, "must be a list, got %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = p.deref(c)
	}
	return out
}

// stringMap reads a mapping of string keys to string values.
func (p *parser) stringMap(path string, n *yaml.Node) map[string]string {
	entries, ok := p.mapping(path, n, 0)
	if !ok || len(entries) == 0 {
		return nil
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		field := join(path, e.key)
		switch {
		case e.key == "":
			p.fail(path, e.kn, "has an empty key")
		case isNull(e.val):
			p.fail(field, e.kn, `has no value; write "" for an empty string`)
		default:
			out[e.key] = p.scalar(field, e.val)
		}
	}
	return out
}

// emptyString reports a field given as an empty quoted string, which
// str reads as "" without complaint.
func emptyString(f map[string]entry, key string) bool {
	e, ok := f[key]
	return ok && !isNull(e.val) && e.val.Kind == yaml.ScalarNode && e.val.Value == ""
}

// token reads an optional field that must be a subject token.
func (p *parser) token(path string, parent *yaml.Node, f map[string]entry, key string, required bool) string {
	s := p.str(path, parent, f, key, required)
	if s == "" {
		if emptyString(f, key) {
			p.fail(join(path, key), f[key].val, "must not be empty")
		}
		return ""
	}
	if err := contracts.CheckToken(join(path, key), s); err != nil {
		p.fail(join(path, key), f[key].val, "%s", contracts.AsError(err).Message)
	}
	return s
}

func (p *parser) inventory(doc *yaml.Node) Inventory {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.fail(rootField, nil, "the inventory is empty")
			return Inventory{}
		}
		root = root.Content[0]
	}
	if isNull(p.deref(root)) {
		p.fail(rootField, root, "the inventory is empty")
		return Inventory{}
	}
	f, ok := p.fields("", root, "environments", "lifecycle", "app_lifecycles")
	if !ok {
		return Inventory{}
	}
	e, ok := f["environments"]
	if !ok {
		p.fail("environments", root, "is required")
		return Inventory{}
	}
	items := p.sequence("environments", e.val)
	if isNull(e.val) || (e.val.Kind == yaml.SequenceNode && len(e.val.Content) == 0) {
		p.fail("environments", e.kn, "must list at least one environment")
	}
	var inv Inventory
	first := map[string]int{}
	for i, item := range items {
		path := index("environments", i)
		env, ok := p.environment(path, item)
		if !ok {
			continue
		}
		if j, dup := first[env.Name]; dup {
			p.fail(path+".name", item, "duplicate environment %q (also environments[%d])", env.Name, j)
			continue
		}
		first[env.Name] = i
		resolve(&env)
		inv.Environments = append(inv.Environments, env)
	}
	p.lifecycles(&inv, f)
	return inv
}

func (p *parser) environment(path string, n *yaml.Node) (Environment, bool) {
	f, ok := p.fields(path, n, "name", "position", "params", "driver", "pool", "hosts", "procedures", "allow_request_commands", "allow_request_params", "applications", "sources", "checks", "on_blocked", "on_freeze")
	if !ok {
		return Environment{}, false
	}
	before := len(p.errs)
	env := Environment{
		Name:   p.token(path, n, f, "name", true),
		Pool:   p.token(path, n, f, "pool", false),
		Params: p.stringMap(join(path, "params"), f["params"].val),
	}
	if e, ok := f["position"]; ok && !isNull(e.val) {
		env.Position = p.position(join(path, "position"), e.val)
	}
	if e, ok := f["driver"]; ok {
		env.Driver = p.driver(join(path, "driver"), e.val)
	}
	if e, ok := f["procedures"]; ok {
		env.Procedures = p.procedures(join(path, "procedures"), e.val)
	}
	if e, ok := f["checks"]; ok {
		env.Checks = p.checks(join(path, "checks"), e.val)
	}
	if e, ok := f["allow_request_commands"]; ok && !isNull(e.val) {
		env.AllowRequestCommands = p.boolean(join(path, "allow_request_commands"), e.val)
	}
	if e, ok := f["allow_request_params"]; ok {
		p.requestParams(join(path, "allow_request_params"), e.val, &env)
	}
	appsEntry, declared := f["applications"]
	if declared {
		env.Applications = p.applications(join(path, "applications"), appsEntry.val)
	}
	env.Sources = p.sources(join(path, "sources"), f["sources"].val)
	p.calendarPolicies(path, n, f, &env)
	hostsPath := join(path, "hosts")
	first := map[string]int{}
	for i, item := range p.sequence(hostsPath, f["hosts"].val) {
		hp := index(hostsPath, i)
		h, ok := p.host(hp, item)
		if !ok {
			continue
		}
		// DNS names are case-insensitive: web-01 and WEB-01 are one host.
		key := strings.ToLower(h.Name)
		if j, dup := first[key]; dup {
			p.fail(hp+".name", item, "duplicate host %q in environment (also %s)", h.Name, index(hostsPath, j))
			continue
		}
		first[key] = i
		env.Hosts = append(env.Hosts, h)
	}
	if declared {
		p.checkApplicationHosts(path, env, appsEntry.kn)
	}
	return env, len(p.errs) == before
}

func (p *parser) position(path string, n *yaml.Node) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.fail(path, n, "must be a whole number")
		return 0
	}
	if v < 1 || v > maxPosition {
		p.fail(path, n, "must be between 1 and %d, got %d", maxPosition, v)
		return 0
	}
	return v
}

func (p *parser) host(path string, n *yaml.Node) (contracts.Host, bool) {
	f, ok := p.fields(path, n, "name", "address", "groups", "labels", "params", "pool", "driver")
	if !ok {
		return contracts.Host{}, false
	}
	before := len(p.errs)
	h := contracts.Host{
		Name:    p.str(path, n, f, "name", true),
		Address: p.str(path, n, f, "address", true),
		Labels:  p.stringMap(join(path, "labels"), f["labels"].val),
		Params:  p.stringMap(join(path, "params"), f["params"].val),
		Pool:    p.token(path, n, f, "pool", false),
	}
	switch {
	case h.Name != "":
		if problem := hostNameProblem(h.Name); problem != "" {
			p.fail(join(path, "name"), f["name"].val, "%s", problem)
		}
	case emptyString(f, "name"):
		p.fail(join(path, "name"), f["name"].val, "must not be empty")
	}
	switch {
	case h.Address != "":
		if problem := addressProblem(h.Address); problem != "" {
			p.fail(join(path, "address"), f["address"].val, "%s", problem)
		}
	case emptyString(f, "address"):
		p.fail(join(path, "address"), f["address"].val, "must not be empty")
	}
	groupsPath := join(path, "groups")
	for i, g := range p.sequence(groupsPath, f["groups"].val) {
		gp := index(groupsPath, i)
		name := p.scalar(gp, g)
		switch {
		case name == "" && g.Kind == yaml.ScalarNode && !isNull(g):
			p.fail(gp, g, "must not be empty")
		case name == "":
		case !contracts.ValidToken(name):
			p.fail(gp, g, "%s", contracts.AsError(contracts.CheckToken(gp, name)).Message)
		case contains(h.Groups, name):
			p.fail(gp, g, "repeats group %q", name)
		default:
			h.Groups = append(h.Groups, name)
		}
	}
	if e, ok := f["driver"]; ok {
		h.Driver = p.driver(join(path, "driver"), e.val)
	}
	return h, len(p.errs) == before
}

// hostNameProblem checks an RFC 1123 host name.
func hostNameProblem(name string) string {
	const rule = "must be an RFC 1123 host name: dot-separated labels of 1-63 letters, digits or '-', not starting or ending with '-', at most 253 characters"
	if len(name) > 253 {
		return fmt.Sprintf("%s; got %d characters", rule, len(name))
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Sprintf("%s; got %q", rule, name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("%s; got %q", rule, name)
			}
		}
	}
	return ""
}

// addressProblem checks a host address as host[:port] (contracts.SplitAddress):
// it reaches templates, check URLs and dial calls, so "127.0.0.1:1;touch x"
// is refused here rather than trusted to every consumer.
func addressProblem(addr string) string {
	if strings.TrimSpace(addr) == "" {
		return "must not be blank"
	}
	return contracts.AddressProblem(addr)
}
