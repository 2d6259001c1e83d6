package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/tools/internal/sampleapp"
)

func init() { extraCommands = append(extraCommands, newSampleAppCmd) }

// newSampleAppCmd is the small web service that the sample inventory's
// local exec hosts deploy. It is hidden: it exists for `rollwave dev`.
func newSampleAppCmd() *cobra.Command {
	var dir, addr, version string
	var supervisor int
	root := &cobra.Command{Use: "sample-app", Short: "The sample web service deployed by `rollwave dev`", Hidden: true}
	deploy := &cobra.Command{
		Use:   "deploy",
		Short: "Replace the local instance with --version and wait until it is healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			args := []string{"sample-app", "serve", "--addr", addr, "--version", version}
			if pid := os.Getenv(sampleapp.SupervisorEnv); pid != "" {
				args = append(args, "--supervisor", pid)
			}
			if err := sampleapp.Deploy(cmd.Context(), dir, addr, version, exe, args); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "version %s healthy on %s\n", version, addr)
			return nil
		},
	}
	serve := &cobra.Command{
		Use:  "serve",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			return sampleapp.Serve(ctx, addr, version, supervisor)
		},
	}
	stopCmd := &cobra.Command{
		Use:  "stop",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return sampleapp.Stop(dir) },
	}
	var target string
	route := &cobra.Command{
		Use:   "route",
		Short: "Send the sample's traffic to the set --target (records it in --dir/active), the blue-green switch of `rollwave dev`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sampleapp.Route(dir, target); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "traffic goes to %s\n", target)
			return nil
		},
	}
	route.Flags().StringVar(&dir, "dir", "", "folder of the sample's router state")
	route.Flags().StringVar(&target, "target", "", "the set traffic goes to (blue or green)")
	root.AddCommand(route)
	for _, c := range []*cobra.Command{deploy, serve, stopCmd} {
		c.Flags().StringVar(&dir, "dir", "", "folder that holds the instance's pid and log")
		c.Flags().StringVar(&addr, "addr", "127.0.0.1:18101", "address to serve on")
		c.Flags().StringVar(&version, "version", "", "version to run")
	}
	serve.Flags().IntVar(&supervisor, "supervisor", 0, "stop when the process with this pid is gone")
	root.AddCommand(deploy, serve, stopCmd)
	return root
}
