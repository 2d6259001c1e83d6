package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

// Runtime control: skip a step, reorder the pending steps, exclude a host.
// Like approve, each records who (--as, else $ROLLWAVE_ACTOR) and why (-m).

// runtimeCmd builds one runtime-control command; body turns the arguments
// after the rollout into the command's target.
func runtimeCmd(g *globals, use, short, example string, args cobra.PositionalArgs, body func([]string) (contracts.ControlCommand, error), verb contracts.Verb) *cobra.Command {
	var message, as string
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    usageArgs(args),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := contracts.CheckToken("rollout", args[0]); err != nil {
				return usageError(err)
			}
			c, err := body(args[1:])
			if err != nil {
				return usageError(err)
			}
			c.Actor, c.Reason = gateActor(as), message
			return control(cmd, g, args[0], string(verb), c)
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "why, recorded in the rollout's events")
	cmd.Flags().StringVar(&as, "as", "", "who (default $ROLLWAVE_ACTOR, else the login name)")
	return cmd
}

func newSkipCmd(g *globals) *cobra.Command {
	return runtimeCmd(g, "skip ROLLOUT STEP -m WHY",
		"Skip a pending step (or the gate or wait the rollout is at); its hosts are never deployed",
		"  rollwave skip r-42 east -m \"east is decommissioned\"\n  rollwave skip r-42 bake --as alice -m \"soak done by hand\"",
		cobra.ExactArgs(2), func(a []string) (contracts.ControlCommand, error) {
			return contracts.ControlCommand{Step: a[0]}, nil
		}, contracts.VerbSkip)
}

func newReorderCmd(g *globals) *cobra.Command {
	return runtimeCmd(g, "reorder ROLLOUT STEP... -m WHY",
		"Give the pending steps a new order (every pending step, by id, once)",
		"  rollwave reorder r-42 west east -m \"west first: lower traffic\"",
		cobra.MinimumNArgs(2), func(a []string) (contracts.ControlCommand, error) {
			return contracts.ControlCommand{Steps: a}, nil
		}, contracts.VerbReorder)
}

func newExcludeCmd(g *globals) *cobra.Command {
	return runtimeCmd(g, "exclude ROLLOUT HOST -m WHY",
		"Remove a host from the rest of the rollout (under guided failure: skip a failed host)",
		"  rollwave exclude r-42 web-07 -m \"disk failing, replaced tomorrow\"",
		cobra.ExactArgs(2), func(a []string) (contracts.ControlCommand, error) {
			if a[0] == "" {
				return contracts.ControlCommand{}, contracts.Invalid("host", "is empty")
			}
			return contracts.ControlCommand{Host: a[0]}, nil
		}, contracts.VerbExclude)
}

// printOffer shows the choices of a rollout paused by guided failure, with
// the command to run for each.
func printOffer(w io.Writer, offer []contracts.FailedHostOffer) {
	if len(offer) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Guided failure: the rollout waits for a choice.")
	for _, o := range offer {
		line := "  " + o.Host
		if o.Error != "" {
			line += ": " + oneLine(o.Error)
		}
		fmt.Fprintln(w, line)
		tw := newTable(w)
		for _, c := range o.Choices {
			fmt.Fprintf(tw, "    %s\t%s\n", choiceLabel(c.Verb), c.Command)
		}
		tw.Flush()
	}
}

// choiceLabel names a guided-failure choice as an operator thinks of it.
func choiceLabel(v contracts.Verb) string {
	switch v {
	case contracts.VerbRetry:
		return "retry this host:"
	case contracts.VerbExclude:
		return "skip this host:"
	case contracts.VerbRollback:
		return "roll back:"
	case contracts.VerbAbort:
		return "abort:"
	}
	return string(v) + ":"
}

// runtimeDetail is the event line detail of skipped, reordered, excluded
// and paused events: what changed, then who and why; a guided-failure
// pause points at the choices.
func runtimeDetail(t contracts.EventType, ev contracts.Event, by string) string {
	var what string
	switch t {
	case contracts.EventSkipped:
		what = fmt.Sprintf("step %s (%d hosts)", ev.Step, len(ev.Hosts))
	case contracts.EventReordered:
		what = "steps " + strings.Join(ev.Steps, ", ")
	case contracts.EventExcluded:
		what = strings.Join(ev.Hosts, ", ")
	}
	s := strings.TrimSpace(what + " " + by)
	if len(ev.Offer) > 0 {
		s += fmt.Sprintf("; guided failure: %d failed hosts wait for a choice, see rollwave get %s", len(ev.Offer), ev.Rollout)
	}
	return s
}
