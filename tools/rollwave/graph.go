package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newGraphCmd(g *globals) *cobra.Command {
	var env, format string
	var files []string
	cmd := &cobra.Command{
		Use: "graph [-f SPEC...] [--env E] [--format dot|mermaid]",
		Example: `  rollwave graph --env production
  rollwave graph -f web.yaml -f api.yaml --env production
  rollwave graph -f web.yaml --format mermaid
  rollwave graph -f web.yaml -o json`,
		Short: "Print the dependency graph of applications, with the versions running in an environment and unmet requirements marked",
		Long: `graph reads the rollout specs given with -f (each names an application,
its version and its requires), asks the planner which versions run in the
environment (--env, or the specs' own), and prints the graph as Graphviz DOT
or Mermaid, with unmet requirements marked; -o json prints the graph's JSON.
Without -f it draws the applications completed in --env, each with the
requires of the request it was last deployed from.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 && env == "" {
				return usageError(errors.New("give --env, or specs with -f"))
			}
			if format != "dot" && format != "mermaid" {
				return usageError(fmt.Errorf("--format must be dot or mermaid, got %q", format))
			}
			q := contracts.GraphQuery{Environment: env}
			for _, f := range files {
				req, err := readSpec(cmd.InOrStdin(), f, "")
				if err != nil {
					return usageError(err)
				}
				if q.Environment == "" {
					q.Environment = req.Environment
				}
				q.Apps = append(q.Apps, contracts.GraphApp{App: req.App, Version: req.Version, Requires: req.Requires})
			}
			return show(cmd, g, http.MethodPost, "/v1/graph", nil, q, func(w io.Writer, dg contracts.DependencyGraph) {
				if format == "mermaid" {
					fmt.Fprint(w, dg.Mermaid)
					return
				}
				fmt.Fprint(w, dg.DOT)
			})
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "rollout spec (YAML or JSON), repeatable")
	cmd.Flags().StringVar(&env, "env", "", "environment (default: the first spec's)")
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}
