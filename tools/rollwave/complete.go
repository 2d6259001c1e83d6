package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds the API call behind one tab press: a shell must
// never hang on a gateway that does not answer.
const completionTimeout = 2 * time.Second

// addCompletions wires dynamic completion into every command by what it
// takes, so commands added later get it too: a ROLLOUT argument completes
// rollout ids, a WINDOW argument window ids, and an --env flag the
// environments of the inventory.
func addCompletions(root *cobra.Command, g *globals) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		fields := strings.Fields(c.Use)
		if len(fields) > 1 && c.ValidArgsFunction == nil {
			switch fields[1] {
			case "ROLLOUT":
				c.ValidArgsFunction = firstArg(g, rolloutIDs)
			case "WINDOW":
				c.ValidArgsFunction = firstArg(g, windowIDs)
			}
		}
		if f := c.Flags().Lookup("env"); f != nil {
			if _, ok := c.GetFlagCompletionFunc("env"); !ok {
				_ = c.RegisterFlagCompletionFunc("env", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
					return complete(cmd, g, environments)
				})
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

type lister func(context.Context, *apiClient) ([]string, error)

// firstArg completes only the first positional argument.
func firstArg(g *globals, list lister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, g, list)
	}
}

// complete asks the API; on any error it offers nothing rather than files.
func complete(cmd *cobra.Command, g *globals, list lister) ([]string, cobra.ShellCompDirective) {
	c, err := g.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	out, err := list(ctx, c)
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Candidates carry a description after a tab, which zsh and fish show.

func rolloutIDs(ctx context.Context, c *apiClient) ([]string, error) {
	var l struct {
		Rollouts []struct {
			Rollout, App, Version, Environment, State string
		} `json:"rollouts"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/rollouts", nil, nil, &l); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l.Rollouts))
	for _, r := range l.Rollouts {
		out = append(out, fmt.Sprintf("%s\t%s@%s in %s, %s", r.Rollout, r.App, r.Version, r.Environment, r.State))
	}
	return out, nil
}

func windowIDs(ctx context.Context, c *apiClient) ([]string, error) {
	var l struct {
		Windows []struct {
			ID, Environment, Kind, Reason string
		} `json:"windows"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/calendar/windows", nil, nil, &l); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l.Windows))
	for _, w := range l.Windows {
		out = append(out, fmt.Sprintf("%s\t%s %s %s", w.ID, w.Kind, w.Environment, oneLine(w.Reason)))
	}
	return out, nil
}

func environments(ctx context.Context, c *apiClient) ([]string, error) {
	var inv struct {
		Environments []struct {
			Name  string     `json:"name"`
			Hosts []struct{} `json:"hosts"`
		} `json:"environments"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/inventory", nil, nil, &inv); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(inv.Environments))
	for _, e := range inv.Environments {
		out = append(out, fmt.Sprintf("%s\t%d hosts", e.Name, len(e.Hosts)))
	}
	return out, nil
}

// completionExamples adds examples to cobra's completion command and its
// subcommands, which come without any.
func completionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  source <(rollwave completion bash)\n  rollwave completion zsh > \"${fpath[1]}/_rollwave\""
		for _, sh := range c.Commands() {
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(rollwave completion bash)\n  rollwave completion bash > /etc/bash_completion.d/rollwave"
			case "zsh":
				sh.Example = "  rollwave completion zsh > \"${fpath[1]}/_rollwave\""
			case "fish":
				sh.Example = "  rollwave completion fish > ~/.config/fish/completions/rollwave.fish"
			case "powershell":
				sh.Example = "  rollwave completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}
