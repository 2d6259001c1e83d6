package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/rollwave/rollwave/pkg/artifact"
)

func init() {
	extraCommands = append(extraCommands, newArtifactCmd)
}

// natsFlags are how a command that talks to NATS directly (artifact,
// agent) connects: server URLs and an optional credentials file.
type natsFlags struct {
	url   string
	creds string
}

func (f *natsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "nats", envOr("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URLs, comma separated (env NATS_URL)")
	cmd.Flags().StringVar(&f.creds, "creds", os.Getenv("NATS_CREDS"), "NATS user credentials file (env NATS_CREDS)")
}

func (f *natsFlags) connect(name string, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts := append([]nats.Option{nats.Name(name)}, extra...)
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	nc, err := nats.Connect(f.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", f.url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func newArtifactCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifact",
		Short: "Push and list release artifacts in the JetStream object store",
		Example: `  rollwave artifact push web 2.4.1 dist/web-2.4.1.tar.gz
  rollwave artifact ls web`,
		Long: `Artifacts are what host agents deploy: one tar.gz per app and version, kept
in the rollwave-artifacts object store bucket as <app>/<version> with the
SHA-256 of its content in its metadata. These commands talk to NATS directly
(--nats, --creds), not to the HTTP API.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newArtifactPushCmd(), newArtifactLsCmd())
	return cmd
}

func newArtifactPushCmd() *cobra.Command {
	var nf natsFlags
	var timeout time.Duration
	var replicas int
	cmd := &cobra.Command{
		Use:   "push <app> <version> <file>",
		Short: "Upload a release artifact (a tar.gz) as <app>/<version>",
		Example: `  rollwave artifact push web 2.4.1 dist/web-2.4.1.tar.gz
  rollwave artifact push web 2.4.1 dist/web-2.4.1.tar.gz --replicas 3`,
		Args: usageArgs(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			nc, js, err := nf.connect("rollwave-artifact")
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			store, err := artifact.Ensure(ctx, js, replicas)
			if err != nil {
				return err
			}
			in, err := artifact.Push(ctx, store, args[0], args[1], f)
			if err != nil {
				return err
			}
			if cmd.Flag("output").Value.String() != outputText {
				return writeJSON(cmd, in)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s: %d bytes, sha256 %s\n", in.App, in.Version, in.Size, in.Digest)
			return nil
		},
	}
	nf.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "time limit of the upload")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "replicas of the artifacts bucket when this push creates it (3 on a cluster)")
	return cmd
}

func newArtifactLsCmd() *cobra.Command {
	var nf natsFlags
	cmd := &cobra.Command{
		Use:   "ls [app]",
		Short: "List release artifacts: app, version, size, digest, age",
		Example: `  rollwave artifact ls
  rollwave artifact ls web -o json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			app := ""
			if len(args) == 1 {
				app = args[0]
			}
			nc, js, err := nf.connect("rollwave-artifact")
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), defaultTimeout)
			defer cancel()
			store, err := artifact.Ensure(ctx, js, 1)
			if err != nil {
				return err
			}
			list, err := artifact.List(ctx, store, app)
			if err != nil {
				return err
			}
			if cmd.Flag("output").Value.String() != outputText {
				return writeJSON(cmd, list)
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintln(tw, "APP\tVERSION\tSIZE\tSHA256\tAGE")
			now := time.Now()
			for _, in := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", in.App, in.Version, in.Size, in.Digest, humanDuration(now.Sub(in.Modified))+" ago")
			}
			return tw.Flush()
		},
	}
	nf.register(cmd)
	return cmd
}

func writeJSON(cmd *cobra.Command, v any) error {
	// One document per line, which -o yaml converts.
	return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
}
