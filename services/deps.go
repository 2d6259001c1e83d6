//go:build deps

// Package services pins dependencies while the services are being written.
package services

import (
	_ "github.com/go-kit/kit/endpoint"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.opentelemetry.io/otel/sdk/trace/tracetest"
	_ "go.yaml.in/yaml/v3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
)
