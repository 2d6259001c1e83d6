package contracts

// APIPlannerGraph answers with the dependency graph of applications in an
// environment.
var APIPlannerGraph = APISubject("planner", "graph")

// GraphQuery names the applications (with their declared requirements)
// whose graph is wanted, in one environment.
type GraphQuery struct {
	Environment string     `json:"environment"`
	Apps        []GraphApp `json:"apps"`
}

// GraphApp is one application release and what it requires.
type GraphApp struct {
	App      string        `json:"app"`
	Version  string        `json:"version,omitempty"`
	Requires []Requirement `json:"requires,omitempty"`
}

// DependencyGraph is the answer to a graph query: applications with the
// versions running in the environment, requirements as edges marked met
// or not, the order a rollout of them takes, and the graph rendered as
// Graphviz DOT and as a Mermaid flowchart.
type DependencyGraph struct {
	Environment string      `json:"environment"`
	Nodes       []GraphNode `json:"nodes"`
	Edges       []GraphEdge `json:"edges"`
	Order       []string    `json:"order"`
	DOT         string      `json:"dot"`
	Mermaid     string      `json:"mermaid"`
}

// GraphNode is one application and the versions its hosts run.
type GraphNode struct {
	App      string   `json:"app"`
	Versions []string `json:"versions,omitempty"`
}

// GraphEdge is a requirement of From on To.
type GraphEdge struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Constraint string `json:"constraint"`
	Met        bool   `json:"met"`
}
