package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/discovery"
)

func newDiscoveryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "discovery",
		Example: `  rollwave discovery status`,
		Short:   "Inspect the discovery service",
	}
	cmd.AddCommand(&cobra.Command{
		Use: "status",
		Example: `  rollwave discovery status
  rollwave discovery status -o json`,
		Short: "Show each inventory source: last run, last success, hosts and the last error",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, http.MethodGet, "/v1/discovery/status", nil, nil, printDiscoveryStatus)
		},
	})
	return cmd
}

func printDiscoveryStatus(w io.Writer, st contracts.DiscoveryStatus) {
	if len(st.Sources) == 0 {
		fmt.Fprintln(w, "No sources.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ENVIRONMENT\tKIND\tSOURCE\tHOSTS\tLAST RUN\tLAST SUCCESS\tFAILURES\tERROR")
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, s := range st.Sources {
		hosts := fmt.Sprint(s.Hosts)
		if s.Kind == "yaml" {
			hosts = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", orDash(s.Environment), s.Kind, s.Source, hosts,
			stamp(s.LastRun), stamp(s.LastSuccess), s.Failures, orDash(oneLine(s.Error)))
	}
	tw.Flush()
}

// inventoryArgs splits the values of --inventory (and of
// ROLLWAVE_INVENTORY, comma separated) as Ansible's -i does: a value is a
// Rollwave YAML inventory, or ENV=SOURCE, where SOURCE is an Ansible INI
// file or an executable dynamic-inventory script whose hosts go to
// environment ENV. At most one YAML inventory may be given.
func inventoryArgs(values []string) (yamlPath string, sources []discovery.EnvSource, err error) {
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if env, path, ok := strings.Cut(v, "="); ok && contracts.ValidToken(env) {
			if path == "" {
				return "", nil, fmt.Errorf("--inventory %q: the source after %q is empty", v, env+"=")
			}
			sources = append(sources, discovery.EnvSource{Env: env, Path: path})
			continue
		}
		if yamlPath != "" {
			return "", nil, fmt.Errorf("--inventory: give one YAML inventory, got %q and %q (other sources are ENV=SOURCE)", yamlPath, v)
		}
		yamlPath = v
	}
	return yamlPath, sources, nil
}

// inventoryDefault is the default of --inventory: ROLLWAVE_INVENTORY,
// comma separated.
func inventoryDefault(env string) []string {
	var out []string
	for _, v := range strings.Split(env, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// sourceDriver decodes --source-driver, strictly.
func sourceDriver(s string) (*contracts.DriverSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var d contracts.DriverSpec
	if err := contracts.DecodeStrict([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("--source-driver: %w", err)
	}
	if fe := d.Validate("--source-driver"); len(fe) > 0 {
		return nil, fe
	}
	return &d, nil
}
