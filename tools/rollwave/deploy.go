package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/spec"
)

// maxSpecBytes matches the gateway's body limit.
const maxSpecBytes = 1 << 20

func newDeployCmd(g *globals) *cobra.Command {
	var file, id string
	var dryRun, wait bool
	var limit time.Duration
	cmd := &cobra.Command{
		Use:   "deploy -f SPEC",
		Short: "Request a rollout described by a spec file (YAML or JSON)",
		Long: `deploy reads a rollout spec (YAML or JSON; "-" reads standard input) and
sends it to the API as a deploy request, printing the rollout id. A spec
with apps (several applications) prints one rollout id per application in
the order they roll out, and --wait follows them one after another.

  --dry-run  asks the planner for the plan instead, as "rollwave plan" does
  --wait     then follows the rollout live until it settles, with --timeout
             as a limit; the exit status then says how it settled:
` + exitCodesHelp + ``,
		Example: `  rollwave deploy -f spec.yaml
  rollwave deploy -f spec.yaml --dry-run
  rollwave deploy -f spec.yaml --wait --timeout 1h
  rollwave deploy -f release.yaml --wait   # apps: [{app: api, ...}, {app: web, ...}]`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError(fmt.Errorf("-f/--file is required"))
			}
			if limit < 0 || (limit > 0 && !wait) {
				return usageError(fmt.Errorf("--timeout needs --wait and a positive duration, got %s", limit))
			}
			if dryRun && wait {
				return usageError(fmt.Errorf("--dry-run and --wait do not go together"))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if id != "" {
				if err := contracts.CheckToken("--id", id); err != nil {
					return usageError(err)
				}
			}
			req, err := readSpec(cmd.InOrStdin(), file, id)
			if err != nil {
				return err
			}
			if req.RequestedBy == "" {
				req.RequestedBy = currentUser()
			}
			out := cmd.OutOrStdout()
			if dryRun {
				var pr contracts.PreviewReply
				raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/plan", nil, req, &pr)
				if g.json() && raw != nil {
					printRaw(out, raw)
				}
				if err != nil {
					if g.json() {
						return &exitError{code: exitFailed, err: err, quiet: true}
					}
					return err
				}
				if !g.json() && pr.Plan != nil {
					printPreview(out, pr, time.Now())
				}
				return nil
			}
			var rc struct {
				Rollout   string   `json:"rollout"`
				StreamSeq uint64   `json:"stream_seq"`
				Duplicate bool     `json:"duplicate"`
				Rollouts  []string `json:"rollouts"`
			}
			raw, err := c.call(cmd.Context(), http.MethodPost, "/v1/rollouts", nil, req, &rc)
			if err != nil {
				return err
			}
			return deployed(cmd, g, c, req, rc.Rollout, rc.Rollouts, rc.Duplicate, raw, wait, limit)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "rollout spec, YAML or JSON (- for standard input)")
	f.StringVar(&id, "id", "", "rollout id (default: the spec's id, else a new one); the same id is never deployed twice")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan without deploying")
	f.BoolVar(&wait, "wait", false, "follow the rollout until it settles")
	f.DurationVar(&limit, "timeout", 0, "with --wait: give up after this long (exit 4); 0 waits until the rollout settles")
	return cmd
}

// readSpec reads, parses and checks a spec file, so that mistakes are
// reported with their line before anything is sent.
func readSpec(stdin io.Reader, file, id string) (contracts.DeployRequest, error) {
	var r io.Reader
	if file == "-" {
		r = stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return contracts.DeployRequest{}, fmt.Errorf("read spec: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSpecBytes+1))
	if err != nil {
		return contracts.DeployRequest{}, fmt.Errorf("read spec %s: %w", file, err)
	}
	if len(b) > maxSpecBytes {
		return contracts.DeployRequest{}, fmt.Errorf("spec %s is larger than %d bytes", file, maxSpecBytes)
	}
	req, err := spec.Parse(b)
	if err != nil {
		return contracts.DeployRequest{}, err
	}
	if id != "" {
		req.ID = id
	}
	// The API gives a request without an id one; check the rest as if it
	// had one.
	check := req
	if check.ID == "" {
		check.ID = "r-check"
	}
	if err := spec.Annotate(b, check.Validate()); err != nil {
		return contracts.DeployRequest{}, err
	}
	return req, nil
}
