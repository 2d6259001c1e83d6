package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/pkg/buildinfo"
	"github.com/rollwave/rollwave/pkg/service"
	"github.com/rollwave/rollwave/services/agent"
)

func init() {
	extraCommands = append(extraCommands, newAgentCmd)
}

// agentFlags are the command line of `rollwave agent`.
type agentFlags struct {
	name, env, address, labels, groups, dir string
	keep                                    int
	interval, commandTimeout                time.Duration
	stop, start, restart                    string
	signal, pidFile                         string
	logLevel                                string
}

// config checks the flags and turns them into the agent's configuration.
func (f *agentFlags) config() (agent.Config, error) {
	c := agent.Config{Name: f.name, Environment: f.env, Address: f.address, Keep: f.keep,
		Interval: f.interval, CommandTimeout: f.commandTimeout, PidFile: f.pidFile, Version: buildinfo.Read().String()}
	var err error
	if c.Labels, err = parseLabels("--labels", f.labels); err != nil {
		return c, err
	}
	if f.groups != "" {
		c.Groups = strings.Split(f.groups, ",")
	}
	if f.dir != "" {
		if c.Dir, err = filepath.Abs(f.dir); err != nil {
			return c, err
		}
	}
	for _, a := range []struct {
		flag string
		in   string
		out  *[]string
	}{{"--stop-cmd", f.stop, &c.Stop}, {"--start-cmd", f.start, &c.Start}, {"--restart-cmd", f.restart, &c.Restart}} {
		if a.in == "" {
			continue
		}
		if *a.out, err = parseArgv(a.flag, a.in); err != nil {
			return c, err
		}
	}
	if f.signal != "" {
		if c.Signal, err = parseSignal(f.signal); err != nil {
			return c, err
		}
	}
	return c, nil
}

// parseLabels reads "k=v,k2=v2".
func parseLabels(flag, s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for i, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%s: item %d (%q) must be key=value", flag, i+1, kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: key %q given twice", flag, k)
		}
		out[k] = v
	}
	return out, nil
}

// parseArgv reads a command as a JSON array of strings, such as
// '["systemctl","restart","web"]': an argument vector, never a shell line.
func parseArgv(flag, s string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var argv []string
	if err := dec.Decode(&argv); err != nil {
		return nil, fmt.Errorf(`%s: want a JSON array of strings such as '["systemctl","restart","web"]': %w`, flag, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: unexpected data after the array", flag)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("%s: the first element must name a program", flag)
	}
	for i, a := range argv {
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Errorf("%s: element %d holds a NUL byte", flag, i)
		}
	}
	return argv, nil
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

func parseSignal(s string) (syscall.Signal, error) {
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("--signal must be one of HUP, INT, QUIT, TERM, USR1, USR2, got %q", s)
}

func newAgentCmd() *cobra.Command {
	var nf natsFlags
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the host agent: announce this host and deploy the releases sent to it",
		Example: `  rollwave agent --nats nats://nats.internal:4222 --creds /etc/rollwave/agent.creds --name web-01 --environment production --address 10.0.1.11:8080 --groups web --dir /srv/web
  rollwave agent --name web-01 --environment production --address 10.0.1.11:8080 --dir /srv/web --restart-cmd '["systemctl","restart","web"]'`,
		Long: `agent runs on a deployment target. It connects to NATS with its own
credentials (--creds), announces the host to discovery every --interval with
the versions it runs, and serves the host actions of hosts whose driver is
{agent: {}}: it fetches <app>/<version> from the rollwave-artifacts object
store, verifies its SHA-256, unpacks it into <dir>/<app>/releases/<version>,
switches <dir>/<app>/current atomically, and runs the commands given here
(never commands from the action), or signals the process in --pid-file.
It keeps the last --keep releases, so a rollback is a switch with no
download, and journals every completed action under <dir>/.journal before
answering, so a redelivered action does nothing again.

Commands are JSON argv arrays, run in the new release directory with
ROLLWAVE_HOST, ROLLWAVE_APP, ROLLWAVE_VERSION, ROLLWAVE_PREVIOUS_VERSION,
ROLLWAVE_ROLLOUT, ROLLWAVE_ENVIRONMENT, ROLLWAVE_RELEASE_DIR, ROLLWAVE_CURRENT,
ROLLWAVE_ACTION_ID, ROLLWAVE_ATTEMPT and PATH set. Example:

  rollwave agent --nats nats://nats:4222 --creds web-01.creds --name web-01 \
    --environment production --address 10.0.0.11:8080 --labels zone=a \
    --dir /srv/rollwave --restart-cmd '["systemctl","restart","web"]'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err == nil {
				err = cfg.Check()
			}
			if err != nil {
				return usageError(err)
			}
			log, err := (&runFlags{logLevel: f.logLevel}).logger()
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			nc, js, err := nf.connect("rollwave-agent-"+cfg.Name, nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
				nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("disconnected from NATS", "err", err) }),
				nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", "url", nc.ConnectedUrl()) }))
			if err != nil {
				return err
			}
			defer nc.Close()
			a, err := agent.New(service.Deps{NC: nc, JS: js, Log: log}, cfg)
			if err != nil {
				return usageError(err)
			}
			startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = a.Start(startCtx)
			cancel()
			if err != nil {
				return err
			}
			<-ctx.Done()
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Stop(stopCtx)
		},
	}
	nf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "this host's name, as the inventory knows it (required)")
	fl.StringVar(&f.env, "environment", "", "the environment this host belongs to (required)")
	fl.StringVar(&f.address, "address", "", "address to reach this host at (host[:port])")
	fl.StringVar(&f.labels, "labels", "", "labels, key=value,key2=value2")
	fl.StringVar(&f.groups, "groups", "", "groups, comma separated")
	fl.StringVar(&f.dir, "dir", "", "the agent's root: releases, current and the journal live here (required)")
	fl.IntVar(&f.keep, "keep", agent.DefaultKeep, "releases kept per app")
	fl.DurationVar(&f.interval, "interval", agent.DefaultInterval, "heartbeat interval")
	fl.DurationVar(&f.commandTimeout, "command-timeout", agent.DefaultCommandTimeout, "time limit of each command")
	fl.StringVar(&f.stop, "stop-cmd", "", `command run before current is switched, as JSON argv, e.g. '["systemctl","stop","web"]'`)
	fl.StringVar(&f.start, "start-cmd", "", "command run after the switch, as JSON argv")
	fl.StringVar(&f.restart, "restart-cmd", "", "command run after the switch instead of --start-cmd, as JSON argv")
	fl.StringVar(&f.signal, "signal", "", "signal sent after the switch to the process in --pid-file: HUP, INT, QUIT, TERM, USR1 or USR2")
	fl.StringVar(&f.pidFile, "pid-file", "", "file holding the pid that --signal goes to")
	fl.StringVar(&f.logLevel, "log-level", envOr("ROLLWAVE_LOG_LEVEL", "info"), "debug, info, warn or error")
	return cmd
}
