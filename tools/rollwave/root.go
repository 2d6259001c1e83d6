package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/pkg/buildinfo"
)

// extraCommands are added to the root by files that register themselves in
// init (dev, serve, bench, ...).
var extraCommands []func() *cobra.Command

// Exit codes.
const (
	exitOK         = 0
	exitFailed     = 1 // an error, or a rollout that failed, was aborted or rejected
	exitUsage      = 2 // bad command line
	exitSettled    = 3 // a followed rollout stopped to wait for a person: paused
	exitTimedOut   = 4 // a followed rollout had not settled when --timeout ran out
	defaultAPI     = "http://127.0.0.1:8080"
	apiEnv         = "ROLLWAVE_API"
	outputText     = "text"
	outputJSON     = "json"
	outputYAML     = "yaml"
	defaultTimeout = 10 * time.Second
)

// globals are the root's persistent flags.
type globals struct {
	api     string
	output  string
	timeout time.Duration
}

// client checks the global flags and returns a client of the gateway.
func (g *globals) client() (*apiClient, error) {
	if err := g.checkOutput(); err != nil {
		return nil, err
	}
	if g.timeout <= 0 {
		return nil, usageError(fmt.Errorf("--request-timeout must be positive, got %s", g.timeout))
	}
	u, err := url.Parse(g.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError(fmt.Errorf("--api must be an http(s) URL such as %s, got %q", defaultAPI, g.api))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return newAPIClient(u, g.timeout), nil
}

// json reports machine-readable output: JSON, or YAML made from it.
func (g *globals) json() bool { return g.output == outputJSON || g.output == outputYAML }

func (g *globals) checkOutput() error {
	if g.output != outputText && g.output != outputJSON && g.output != outputYAML {
		return usageError(fmt.Errorf("-o/--output must be text, json or yaml, got %q", g.output))
	}
	return nil
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "rollwave",
		Short: "Roll releases out to the hosts of an environment in phases and batches",
		Long: `rollwave talks to the Rollwave HTTP API (--api, env ROLLWAVE_API).

Phases are numbered from 0 in text as in JSON (their index in the plan);
batches and attempts from 1, in both. Times print as RFC 3339 instants with
their age.

Exit status: 0 on success, 1 on errors, 2 on a bad command line; deploy
--wait and watch exit by how the rollout settled:
` + exitCodesHelp,
		Example: `  rollwave deploy -f spec.yaml --wait
  rollwave list --env production
  rollwave watch r-42
  rollwave --version`,
		Version:       buildinfo.Read().String(),
		Args:          usageArgs(cobra.NoArgs),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			if g.output == outputYAML {
				cmd.SetOut(newYAMLWriter(cmd.OutOrStdout()))
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.api, "api", envOrDefault(apiEnv, defaultAPI), "Rollwave API base URL (env "+apiEnv+")")
	pf.StringVarP(&g.output, "output", "o", outputText, "output format: text, json or yaml")
	pf.DurationVar(&g.timeout, "request-timeout", defaultTimeout, "time limit of each API call")

	root.AddCommand(
		newDeployCmd(g),
		newGetCmd(g),
		newListCmd(g),
		newWatchCmd(g),
		newEventsCmd(g),
		newControlCmd(g, "pause", "Pause a running rollout after the batch in flight"),
		newControlCmd(g, "resume", "Resume a paused rollout"),
		newControlCmd(g, "abort", "Abort a rollout; hosts already done keep the new version"),
		newControlCmd(g, "retry", "Run the failed hosts of a paused rollout again, each as a new attempt"),
		newControlCmd(g, "override", "Emergency override of the calendar: start a blocked rollout, or run on one it paused (--reason required)"),
		newGateCmd(g, "approve", "Approve the gate a rollout waits at"),
		newGateCmd(g, "reject", "Reject the gate a rollout waits at; the rollout fails"),
		newRollbackCmd(g), newUndoCmd(g),
		newSkipCmd(g), newReorderCmd(g), newExcludeCmd(g),
		newCalendarCmd(g),
		newFreezeCmd(g),
		newUnfreezeCmd(g),
		newInventoryCmd(g),
		newVersionCmd(g),
		newDiscoveryCmd(g),
		newGraphCmd(g),
		newRolloutHistoryCmd(g),
		newPromoteCmd(g),
		newPlanCmd(g),
	)
	for _, f := range extraCommands {
		root.AddCommand(f())
	}
	addCompletions(root, g)
	completionExamples(root)
	return root
}

func envOrDefault(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// currentUser names the operator, for --actor and the request's
// requested_by: $USER, else the account's name.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// exitError carries an exit status; quiet means the problem has been
// printed already.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a command-line mistake: exit status 2.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// usageArgs makes cobra's argument checks usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			if !cmd.HasParent() && len(args) > 0 {
				return usageError(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()))
			}
			return usageError(err)
		}
		return nil
	}
}

// exitCode returns the status for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}
