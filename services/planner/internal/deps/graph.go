package deps

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Graph is the dependency graph of applications in one environment.
type Graph struct {
	Environment string `json:"environment,omitempty"`
	Nodes       []Node `json:"nodes"`
	Edges       []Edge `json:"edges"`
}

// Node is one application with the versions running in the environment.
type Node struct {
	App      string   `json:"app"`
	Versions []string `json:"versions,omitempty"`
}

// Edge is a requirement of From on To; Met says whether the environment
// satisfies it.
type Edge struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Constraint string `json:"constraint"`
	Met        bool   `json:"met"`
}

// Build makes the graph of apps against what runs in the environment.
// Required applications that are not among apps become nodes too.
func Build(env string, apps []App, running map[string][]string) Graph {
	g := Graph{Environment: env}
	seen := map[string]bool{}
	node := func(name string) {
		if !seen[name] {
			seen[name] = true
			vs := slices.Compact(slices.Sorted(slices.Values(running[name])))
			g.Nodes = append(g.Nodes, Node{App: name, Versions: vs})
		}
	}
	for _, a := range apps {
		node(a.Name)
		for _, r := range a.Requires {
			node(r.App)
			met := false
			if c, err := ParseConstraint(r.Constraint); err == nil {
				met = Satisfied(c, running[r.App])
			}
			g.Edges = append(g.Edges, Edge{From: a.Name, To: r.App, Constraint: r.Constraint, Met: met})
		}
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.App, b.App) })
	slices.SortFunc(g.Edges, func(a, b Edge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	return g
}

func (n Node) label() string {
	if len(n.Versions) == 0 {
		return n.App + "\\n(not running)"
	}
	return n.App + "\\n" + strings.Join(n.Versions, ", ")
}

// DOT renders the graph for Graphviz; unmet edges are red and dashed.
func (g Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n\trankdir=LR;\n\tnode [shape=box];\n", "rollwave "+g.Environment)
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "\t%q [label=%q];\n", n.App, strings.ReplaceAll(n.label(), "\\n", "\n"))
	}
	for _, e := range g.Edges {
		attrs := fmt.Sprintf("label=%q", e.Constraint)
		if !e.Met {
			attrs = fmt.Sprintf("label=%q, color=red, style=dashed", e.Constraint+" (unmet)")
		}
		fmt.Fprintf(&b, "\t%q -> %q [%s];\n", e.From, e.To, attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid renders the graph as a Mermaid flowchart; unmet edges are
// dotted and labelled unmet.
func (g Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, n := range g.Nodes {
		ids[n.App] = fmt.Sprintf("n%d", i)
		label := n.App + "<br/>" + strings.Join(n.Versions, ", ")
		if len(n.Versions) == 0 {
			label = n.App + "<br/>(not running)"
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[n.App], mermaidEscape(label))
	}
	for _, e := range g.Edges {
		if e.Met {
			fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[e.From], mermaidEscape(e.Constraint), ids[e.To])
		} else {
			fmt.Fprintf(&b, "  %s -.->|\"%s (unmet)\"| %s\n", ids[e.From], mermaidEscape(e.Constraint), ids[e.To])
		}
	}
	return b.String()
}

// mermaidEscape keeps quotes and angle brackets of constraints from
// breaking a label.
func mermaidEscape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<br/>", "\x00", "<", "#lt;", ">", "#gt;")
	return strings.ReplaceAll(r.Replace(s), "\x00", "<br/>")
}
