package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
)

func newEventsCmd(g *globals) *cobra.Command {
	var follow bool
	var env, rollout, typ string
	var since uint64
	cmd := &cobra.Command{
		Use: "events",
		Example: `  rollwave events --rollout r-42
  rollwave events --env production --type host_failed
  rollwave events --follow --since 1200 -o json`,
		Short: "Print rollout events, optionally following new ones",
		Long: `events prints the events held in the event stream that match the filters,
oldest first, each with its stream sequence, and exits. With --follow it
then keeps printing new events until interrupted. --since starts after a
stream sequence (the first column). -o json prints each event envelope as
one line of JSON.

Without --follow the API is asked for a snapshot (GET /v1/events?snapshot=true):
it sends the matching events that exist when asked and ends the stream.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, v := range map[string]string{"--env": env, "--rollout": rollout} {
				if v != "" {
					if err := contracts.CheckToken(name, v); err != nil {
						return usageError(err)
					}
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{"since": {strconv.FormatUint(since, 10)}}
			if !follow {
				q.Set("snapshot", "true")
			}
			for k, v := range map[string]string{"environment": env, "rollout": rollout, "type": typ} {
				if v != "" {
					q.Set(k, v)
				}
			}
			out := cmd.OutOrStdout()
			p := painter(useColor(out))
			return c.events(cmd.Context(), q, func(e sseEvent) (bool, error) {
				if g.json() {
					printRaw(out, e.Data)
					return false, nil
				}
				env, ev, err := decodeEvent(e.Data)
				if err != nil {
					fmt.Fprintf(out, "%s  (undecodable event: %v)\n", e.ID, err)
					return false, nil
				}
				fmt.Fprintln(out, eventLine(p, e.ID, env, ev))
				return false, nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "F", false, "keep printing new events")
	f.StringVar(&env, "env", "", "only events of this environment")
	f.StringVar(&rollout, "rollout", "", "only events of this rollout")
	f.StringVar(&typ, "type", "", "only events of this type (planned, started, host_failed, ...)")
	f.Uint64Var(&since, "since", 0, "start after this stream sequence")
	return cmd
}
