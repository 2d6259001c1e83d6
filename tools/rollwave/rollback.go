package main

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// newRollbackCmd builds rollback: the rollback verb on one rollout.
func newRollbackCmd(g *globals) *cobra.Command {
	var message, as string
	var fast bool
	cmd := &cobra.Command{
		Use:   "rollback ROLLOUT [--fast] -m WHY",
		Short: "Redeploy the previous version to every host the rollout changed, from the last batch back",
		Long: `rollback stops the rollout's forward steps and, once the actions in flight
are done, redeploys each changed host's previous version (from the version
inventory at planning time): the batches in reverse order, each with its
phase's checks. --fast rolls every changed host back in one batch without
checks. A host with no recorded previous version is reported, not guessed.
The rollout ends rolled_back, or failed naming the hosts left on the new
version. A completed rollout can be rolled back while no other rollout is
active in its environment.`,
		Example: `  rollwave rollback web-2-4-1 -m "error rate up on the canary"
  rollwave rollback web-2-4-1 --fast --as oncall -m "outage: back now, checks later"`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			return control(cmd, g, args[0], string(contracts.VerbRollback), contracts.ControlCommand{Actor: gateActor(as), Reason: message, Fast: fast})
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "why, recorded in the rollback_started event")
	cmd.Flags().StringVar(&as, "as", "", "who asks (default $ROLLWAVE_ACTOR, else the login name)")
	cmd.Flags().BoolVar(&fast, "fast", false, "every changed host in one batch, without checks")
	return cmd
}

// undoLookback is how many of an environment's newest rollouts undo looks
// through for the app's last one: the scheduler's list maximum.
const undoLookback = 1000

// newUndoCmd builds undo: the rollback verb on the app's last rollout in
// an environment, when that rollout completed.
func newUndoCmd(g *globals) *cobra.Command {
	var message, as, env string
	var fast bool
	cmd := &cobra.Command{
		Use:   "undo APP --env ENV [--fast] -m WHY",
		Short: "Roll back the last rollout of an app in an environment, if it completed",
		Long: `undo finds the newest rollout of APP in ENV and, if it completed, rolls it
back as 'rollwave rollback' does: each host it changed gets the version it ran
before. The newest rollout must have completed; one that failed, was aborted
or was rolled back already is named and left alone.`,
		Example: `  rollwave undo web --env production -m "2.4.1 breaks checkout"
  rollwave undo hello --env qa --fast`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" {
				return usageError(fmt.Errorf("--env is required"))
			}
			if err := contracts.CheckToken("environment", env); err != nil {
				return usageError(err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			q := envQuery(env)
			q.Set("limit", strconv.Itoa(undoLookback))
			var l contracts.RolloutList
			if _, err := c.call(cmd.Context(), http.MethodGet, "/v1/rollouts", q, nil, &l); err != nil {
				return err
			}
			for _, s := range l.Rollouts {
				if s.App != args[0] {
					continue
				}
				if s.State != contracts.StateCompleted {
					return fmt.Errorf("nothing to undo: the last rollout of %s in %s, %s, is %s", args[0], env, s.Rollout, s.State)
				}
				return control(cmd, g, s.Rollout, string(contracts.VerbRollback), contracts.ControlCommand{Actor: gateActor(as), Reason: message, Fast: fast})
			}
			return fmt.Errorf("nothing to undo: no rollout of %s in %s among the last %d", args[0], env, len(l.Rollouts))
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment (required)")
	cmd.Flags().StringVarP(&message, "message", "m", "", "why, recorded in the rollback_started event")
	cmd.Flags().StringVar(&as, "as", "", "who asks (default $ROLLWAVE_ACTOR, else the login name)")
	cmd.Flags().BoolVar(&fast, "fast", false, "every changed host in one batch, without checks")
	return cmd
}
