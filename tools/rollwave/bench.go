package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/tools/internal/loadbench"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	var o loadbench.Options
	var noSync bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use: "bench",
		Example: `  rollwave bench
  rollwave bench --deployments 10000 --hosts 4 --environments 100
  rollwave bench --no-sync --cpuprofile bench.pprof`,
		Short: "Measure deployments per second end to end against an embedded stack",
		Long: `bench starts NATS and every service in this process on a temporary
directory, publishes deploy requests to rollwave.requests.deploy as an external
system would (simulated hosts that deploy instantly), and waits for every
rollout's final event. It reports deployments/s, host actions/s, p50 and p99
from request to completion and peak RSS, then runs a bare JetStream pipeline
with the same message count and sizes and prints the ratio.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.SyncAlways = !noSync
			dir, err := os.MkdirTemp("", "rollwave-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			o.DataDir = dir
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := loadbench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			if res.Failed > 0 {
				return fmt.Errorf("%d deployments did not complete", res.Failed)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&o.Deployments, "deployments", 2000, "deploy requests to publish")
	cmd.Flags().IntVar(&o.Hosts, "hosts", 1, "hosts per deployment")
	cmd.Flags().IntVar(&o.Environments, "environments", 0, "environments to spread deployments over (default min(deployments, 1000)); rollouts in one environment run one after another")
	cmd.Flags().IntVar(&o.InFlight, "in-flight", 2000, "deployments published but not yet finished, at most")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 512, "executor concurrency")
	cmd.Flags().BoolVar(&noSync, "no-sync", false, "let JetStream batch disk syncs instead of syncing every write")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up after this long (the run, and then the bare pipeline, each get this long)")
	return cmd
}
