package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/pkg/clock"
	"github.com/rollwave/rollwave/pkg/haproxy"
)

func init() { extraCommands = append(extraCommands, newHAProxyCmd) }

// newHAProxyCmd drives HAProxy's runtime API: by hand, and as the argv of
// a procedure's blue-green traffic switch (procedures.<name>.traffic).
func newHAProxyCmd() *cobra.Command {
	var socket, backend string
	var timeout time.Duration
	root := &cobra.Command{
		Use:   "haproxy",
		Short: "Drain, enable and switch HAProxy servers through the runtime API (stats socket)",
		Example: `  rollwave haproxy set --socket /run/haproxy/admin.sock --backend web --server web-01 --state drain --wait-sessions 30s
  rollwave haproxy switch --socket /run/haproxy/admin.sock --backend web --set blue=web-01,web-02 --set green=web-03,web-04 --to green`,
		Args: usageArgs(cobra.NoArgs),
	}
	client := func() (*haproxy.Client, error) {
		if backend == "" {
			return nil, usageError(fmt.Errorf("--backend is required"))
		}
		if timeout <= 0 {
			return nil, usageError(fmt.Errorf("--timeout must be positive, got %s", timeout))
		}
		c, err := haproxy.New(socket)
		if err != nil {
			return nil, usageError(fmt.Errorf("--socket: %w", err))
		}
		return c, nil
	}

	var server, state string
	var weight int
	var wait time.Duration
	set := &cobra.Command{
		Use:   "set",
		Short: "Set a server's state and/or weight, then optionally wait until its sessions end",
		Example: `  rollwave haproxy set --socket /run/haproxy/admin.sock --backend web --server web-01 --state drain --wait-sessions 30s
  rollwave haproxy set --socket 127.0.0.1:9999 --backend web --server web-01 --state ready --weight 100`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if state == "" && weight < 0 {
				return usageError(fmt.Errorf("set --state (ready, drain, maint) or --weight, or both"))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout+wait)
			defer cancel()
			if weight >= 0 {
				if err := c.SetWeight(ctx, backend, server, weight); err != nil {
					return err
				}
			}
			if state != "" {
				if err := c.SetState(ctx, backend, server, haproxy.State(state)); err != nil {
					return err
				}
			}
			if wait > 0 {
				if err := c.WaitSessions(ctx, clock.Real{}, backend, server, wait, 200*time.Millisecond); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s set\n", backend, server)
			return nil
		},
	}
	set.Flags().StringVar(&server, "server", "", "server name")
	set.Flags().StringVar(&state, "state", "", "ready, drain or maint")
	set.Flags().IntVar(&weight, "weight", -1, "weight 0-256 (unset: unchanged)")
	set.Flags().DurationVar(&wait, "wait-sessions", 0, "after the change, wait up to this long for the server's sessions to reach 0")

	var sets []string
	var to, off string
	var switchWeight int
	sw := &cobra.Command{
		Use:   "switch",
		Short: "Send the backend's traffic to one set of servers: enable it, then drain (or maint) the others",
		Example: `  rollwave haproxy switch --socket /run/haproxy/admin.sock --backend web --set blue=web-01,web-02 --set green=web-03,web-04 --to green
  # as a procedure's blue-green switch in the inventory:
  #   traffic: {exec: {command: [rollwave, haproxy, switch, --socket, /run/haproxy/admin.sock, --backend, web,
  #             --set, "blue=web-01,web-02", --set, "green=web-03,web-04", --to, "{{.Target}}"]}}`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			parsed, err := parseSets(sets)
			if err != nil {
				return usageError(err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := c.Switch(ctx, backend, parsed, to, haproxy.State(off), switchWeight); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "traffic of %s goes to %s\n", backend, to)
			return nil
		},
	}
	sw.Flags().StringArrayVar(&sets, "set", nil, "a set and its servers, name=server,server (repeat per set)")
	sw.Flags().StringVar(&to, "to", "", "the set traffic goes to ({{.Target}} in a procedure's traffic argv)")
	sw.Flags().StringVar(&off, "off", string(haproxy.Drain), "state of the other sets' servers: drain or maint")
	sw.Flags().IntVar(&switchWeight, "weight", 0, "when set, the target's servers get this weight and the others 0")

	show := &cobra.Command{
		Use:     "show",
		Short:   "Print the backend's servers: name, status, current sessions, weight",
		Example: `  rollwave haproxy show --socket /run/haproxy/admin.sock --backend web`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			servers, err := c.Servers(ctx, backend)
			if err != nil {
				return err
			}
			for _, s := range servers {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\tsessions=%d\tweight=%d\n", s.Server, s.Status, s.Sessions, s.Weight)
			}
			return nil
		},
	}

	for _, c := range []*cobra.Command{set, sw, show} {
		c.Flags().StringVar(&socket, "socket", "", "runtime API socket: an absolute unix socket path or host:port")
		c.Flags().StringVar(&backend, "backend", "", "backend name")
		c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "time limit of the change")
	}
	root.AddCommand(set, sw, show)
	return root
}

// parseSets reads --set name=a,b flags.
func parseSets(flags []string) (map[string][]string, error) {
	if len(flags) < 2 {
		return nil, fmt.Errorf("--set: give at least two sets, name=server,server each")
	}
	out := map[string][]string{}
	for _, f := range flags {
		name, list, ok := strings.Cut(f, "=")
		if !ok || name == "" || list == "" {
			return nil, fmt.Errorf("--set %q: want name=server,server", f)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--set %q: set %q given twice", f, name)
		}
		for _, s := range strings.Split(list, ",") {
			if err := haproxy.CheckName("server", s); err != nil {
				return nil, fmt.Errorf("--set %q: %w", f, err)
			}
			out[name] = append(out[name], s)
		}
	}
	return out, nil
}
