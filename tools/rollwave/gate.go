package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// gateActor is who approves or rejects: --as, else ROLLWAVE_ACTOR, else
// the login name. (Authentication comes later; this is what is recorded.)
func gateActor(as string) string {
	if as != "" {
		return as
	}
	if a := os.Getenv("ROLLWAVE_ACTOR"); a != "" {
		return a
	}
	return currentUser()
}

// newGateCmd builds approve and reject.
func newGateCmd(g *globals, verb, short string) *cobra.Command {
	var message, as, step string
	cmd := &cobra.Command{
		Use:     verb + " ROLLOUT [--step STEP] -m WHY",
		Short:   short,
		Example: "  rollwave " + verb + " r-42 -m \"canary looks good\"\n  rollwave " + verb + " r-42 --step canary --as alice -m \"checked the dashboards\"",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			return control(cmd, g, args[0], verb, contracts.ControlCommand{Actor: gateActor(as), Reason: message, Step: step})
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "why, recorded in the gate event")
	cmd.Flags().StringVar(&as, "as", "", "who decides (default $ROLLWAVE_ACTOR, else the login name)")
	cmd.Flags().StringVar(&step, "step", "", "the step or gate id meant; refused if the rollout waits at another gate")
	return cmd
}
