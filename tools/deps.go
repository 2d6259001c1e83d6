//go:build deps

// Package tools pins dependencies while the tools are being written.
package tools

import (
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/spf13/cobra"
	_ "github.com/vbauerster/mpb/v8"
	_ "github.com/mattn/go-isatty"
	_ "go.yaml.in/yaml/v3"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
)
