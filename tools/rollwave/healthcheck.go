package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newHealthcheckCmd) }

// newHealthcheckCmd is for container health checks: images built FROM
// scratch have no shell or curl, so the rollwave binary probes itself.
func newHealthcheckCmd() *cobra.Command {
	var (
		target  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:    "healthcheck --url URL",
		Short:  "Exit 0 when URL answers GET with a 2xx status, 1 otherwise",
		Hidden: true,
		Long: `healthcheck sends one GET to --url and exits 0 on a 2xx answer and 1 on
anything else, for container health checks in images without a shell.`,
		Example: `  rollwave healthcheck --url http://127.0.0.1:8080/healthz
  rollwave healthcheck --url 'http://127.0.0.1:8222/healthz?js-enabled-only=true'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageError(fmt.Errorf("--url must be an http(s) URL with a host, got %q", target))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return usageError(fmt.Errorf("--url: %w", err))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", u.Redacted(), err)
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("healthcheck %s: status %d", u.Redacted(), resp.StatusCode)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "URL to GET (required)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "time limit of the request")
	return cmd
}
