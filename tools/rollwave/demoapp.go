package main

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/tools/internal/demoapp"
)

func init() { extraCommands = append(extraCommands, newDemoAppCmd) }

// newDemoAppCmd is the web service of the zero-downtime demo (make demo).
func newDemoAppCmd() *cobra.Command {
	o := demoapp.Options{}
	cmd := &cobra.Command{
		Use:   "demo-app",
		Short: "A tiny web service reporting its version, with /healthz, that drains requests in flight on SIGTERM",
		Long: `demo-app serves / (its version, header X-Version), /version and /healthz.
On SIGTERM or SIGINT it stops accepting connections and lets the requests
in flight finish (up to --grace). With --broken it answers / with 500 and
/healthz with 503: the release a canary must roll back.`,
		Example: `  rollwave demo-app --addr 127.0.0.1:18201 --version 1.0.0
  rollwave demo-app --addr 127.0.0.1:18201 --version 4.0.0 --broken`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return demoapp.Serve(ctx, o, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:18201", "address to serve on")
	f.StringVar(&o.Version, "version", "", "version to report (required)")
	f.BoolVar(&o.Broken, "broken", false, "serve errors and fail /healthz")
	f.DurationVar(&o.Delay, "delay", 0, "latency added to every request to /")
	f.StringVar(&o.PidFile, "pid-file", "", "write the process id here once serving")
	f.DurationVar(&o.Grace, "grace", 30*time.Second, "how long a stop waits for requests in flight")
	return cmd
}
