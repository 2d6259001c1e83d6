package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/pkg/telemetry"
	"github.com/rollwave/rollwave/services/executor"
	"github.com/rollwave/rollwave/tools/internal/sample"
	"github.com/rollwave/rollwave/tools/internal/sampleapp"
	"github.com/rollwave/rollwave/tools/internal/stack"
)

func init() {
	extraCommands = append(extraCommands, newDevCmd, newServeCmd)
}

// runFlags are the flags shared by dev and serve.
type runFlags struct {
	dataDir     string
	inventory   []string
	sourcePool  string
	sourceDrv   string
	gatewayAddr string
	logLevel    string
	logJSON     bool
	envErr      error // an environment variable that does not parse
	pool        string
	concurrency int
	ackWait     time.Duration
}

func (f *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data", envOr("ROLLWAVE_DATA", "./data"), "directory for the NATS store and the services' databases (env ROLLWAVE_DATA)")
	cmd.Flags().StringArrayVar(&f.inventory, "inventory", inventoryDefault(os.Getenv("ROLLWAVE_INVENTORY")),
		"inventory YAML, or ENV=SOURCE with an Ansible INI file or dynamic-inventory script; repeatable (env ROLLWAVE_INVENTORY, comma separated)")
	cmd.Flags().StringVar(&f.sourcePool, "source-pool", "", "executor pool of hosts in environments only ENV=SOURCE names")
	cmd.Flags().StringVar(&f.sourceDrv, "source-driver", "", `driver of hosts in environments only ENV=SOURCE names, as JSON, e.g. '{"sim":{}}'`)
	cmd.Flags().StringVar(&f.gatewayAddr, "listen", envOr("ROLLWAVE_LISTEN", "127.0.0.1:8080"), "gateway HTTP address (env ROLLWAVE_LISTEN)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", envOr("ROLLWAVE_LOG_LEVEL", "info"), "debug, info, warn or error")
	logJSON, err := envBool("ROLLWAVE_LOG_JSON")
	f.envErr = err
	cmd.Flags().BoolVar(&f.logJSON, "log-json", logJSON, "log JSON instead of text (env ROLLWAVE_LOG_JSON: true/false, 1/0)")
	cmd.Flags().StringVar(&f.pool, "pool", envOr("ROLLWAVE_POOL", "default"), "executor pool to pull host actions for")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 64, "host actions one executor runs at once")
	cmd.Flags().DurationVar(&f.ackWait, "ack-wait", executor.DefaultAckWait, "how long an executor may go silent before its action is given to another")
}

func (f *runFlags) logger() (*slog.Logger, error) {
	if f.envErr != nil {
		return nil, f.envErr
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return telemetry.NewLogger(os.Stderr, level, f.logJSON), nil
}

// envBool reads a boolean environment variable as strconv.ParseBool does
// (1, t, true, 0, f, false, ...); unset or empty is false.
func envBool(key string) (bool, error) {
	v := os.Getenv(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false (or 1 or 0), got %q", key, v)
	}
	return b, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newDevCmd() *cobra.Command {
	var f runFlags
	var noSync bool
	var natsPort int
	cmd := &cobra.Command{
		Use: "dev",
		Example: `  rollwave dev
  rollwave dev --data /tmp/rollwave --listen 127.0.0.1:9090 --nats-port -1
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 rollwave dev --metrics 127.0.0.1:9464`,
		Short: "Run every service and an embedded NATS server with JetStream in one process",
		Long: `dev runs planner, scheduler, calendar, discovery, executor and the HTTP
gateway together with an embedded NATS server (JetStream, data on local disk).
On first start it writes a sample inventory of 3 environments and 22 hosts and
example rollout specs into the data directory. History survives restarts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := f.logger()
			if err != nil {
				return usageError(err)
			}
			dataDir, err := filepath.Abs(f.dataDir)
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find own executable: %w", err)
			}
			invPath, examples, err := sample.Files(dataDir, exe)
			if err != nil {
				return err
			}
			yamlPath, sources, err := inventoryArgs(f.inventory)
			if err != nil {
				return usageError(err)
			}
			drv, err := sourceDriver(f.sourceDrv)
			if err != nil {
				return usageError(err)
			}
			if yamlPath != "" {
				invPath = yamlPath
			}
			return run(cmd.Context(), log, stack.Options{
				DataDir: dataDir, NATSPort: natsPort, SyncAlways: !noSync,
				InventoryPath: invPath, Sources: sources, SourcePool: f.sourcePool, SourceDriver: drv, GatewayAddr: f.gatewayAddr,
				Executor: executor.Config{Pool: f.pool, Concurrency: f.concurrency, AckWait: f.ackWait,
					// The sample apps it deploys stop when this process is gone.
					ExecEnv: []string{"PATH=" + os.Getenv("PATH"), sampleapp.SupervisorEnv + "=" + strconv.Itoa(os.Getpid())}},
			}, func(st *stack.Stack) {
				api := "http://" + st.Gateway.Addr()
				cli := self()
				if api != defaultAPI {
					cli = "ROLLWAVE_API=" + api + " " + cli
				}
				fmt.Fprintf(cmd.OutOrStdout(), `
Rollwave is running.
  API and events:  %[1]s   (metrics at %[1]s/metrics)
  NATS:            %[2]s
  data:            %[3]s

Try:
  %[6]s deploy -f %[4]s --wait
  %[6]s deploy -f %[5]s --dry-run
  nats sub --server %[2]s 'rollwave.events.>'     (or: %[6]s events --follow)

Press Ctrl-C to stop; the next start keeps the history.
`, api, st.Server.ClientURL(), dataDir, pick(examples, "local-qa"), pick(examples, "web-production"), cli)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&noSync, "no-sync", false, "let JetStream batch disk syncs (faster; acknowledged messages can be lost on power failure)")
	cmd.Flags().IntVar(&natsPort, "nats-port", 4222, "port of the embedded NATS server (-1 picks a free one)")
	return cmd
}

func newServeCmd() *cobra.Command {
	var f runFlags
	var natsURL, creds, metricsAddr string
	var replicas int
	cmd := &cobra.Command{
		Use: "serve <service>...",
		Example: `  rollwave serve all --nats nats://127.0.0.1:4222
  rollwave serve executor --nats nats://nats-1:4222,nats://nats-2:4222 --pool edge --metrics :9464
  rollwave serve scheduler planner --replicas 3 --creds rollwave.creds`,
		Short: "Run chosen services against an external NATS cluster",
		Long: "serve runs the named services (" + strings.Join(stack.Names, ", ") + ", or all) " +
			"in this process, connected to the NATS server(s) given by --nats.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := f.logger()
			if err != nil {
				return usageError(err)
			}
			if len(args) == 1 && args[0] == "all" {
				args = stack.Names
			}
			yamlPath, sources, err := inventoryArgs(f.inventory)
			if err != nil {
				return usageError(err)
			}
			drv, err := sourceDriver(f.sourceDrv)
			if err != nil {
				return usageError(err)
			}
			return run(cmd.Context(), log, stack.Options{
				Services: args, NATSURL: natsURL, NATSCreds: creds, Replicas: replicas, MetricsAddr: metricsAddr,
				DataDir: f.dataDir, InventoryPath: yamlPath, Sources: sources, SourcePool: f.sourcePool, SourceDriver: drv, GatewayAddr: f.gatewayAddr,
				Executor: executor.Config{Pool: f.pool, Concurrency: f.concurrency, AckWait: f.ackWait},
			}, func(st *stack.Stack) {
				if st.Gateway != nil {
					log.Info("gateway listening", "addr", st.Gateway.Addr())
				}
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&natsURL, "nats", envOr("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URLs, comma separated (env NATS_URL)")
	cmd.Flags().StringVar(&creds, "creds", os.Getenv("NATS_CREDS"), "NATS user credentials file (env NATS_CREDS)")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "replicas of the streams Rollwave creates (3 on a cluster)")
	cmd.Flags().StringVar(&metricsAddr, "metrics", os.Getenv("ROLLWAVE_METRICS"), "serve Prometheus /metrics on this address (the gateway serves its own) (env ROLLWAVE_METRICS)")
	return cmd
}

// run starts a stack, calls started, and stops it cleanly on SIGINT or
// SIGTERM.
func run(ctx context.Context, log *slog.Logger, o stack.Options, started func(*stack.Stack)) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	tracing, err := telemetry.TracingFromEnv(ctx)
	if err != nil {
		return err
	}
	o.Log, o.Tracers = log, tracing.Provider
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := stack.Start(startCtx, o)
	cancel()
	if err != nil {
		return err
	}
	started(st)
	<-ctx.Done()
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st.Stop(shutdownCtx)
	if err := tracing.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("flush traces", "err", err)
	}
	return nil
}

func pick(paths []string, name string) string {
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), name) {
			return p
		}
	}
	return name + ".yaml"
}

// self is how the user invoked this binary, for commands to copy.
func self() string {
	if name := os.Args[0]; strings.ContainsRune(name, os.PathSeparator) {
		return name
	}
	return "rollwave"
}
