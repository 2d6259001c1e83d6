// Package natsx adapts Rollwave to NATS and JetStream: streams from their
// contract definitions, message construction with trace context in headers,
// and a request/reply transport for go-kit endpoints.
package natsx

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/contracts"
)

// StreamConfig turns a contract stream definition into a server
// configuration with the given replica count.
func StreamConfig(s contracts.StreamSpec, replicas int) jetstream.StreamConfig {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name:        s.Name,
		Subjects:    s.Subjects,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      s.MaxAge,
		Duplicates:  s.Duplicates,
		AllowDirect: s.AllowDirect,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Discard:     jetstream.DiscardOld,
	}
	if s.Retention == contracts.RetentionWorkQueue {
		cfg.Retention = jetstream.WorkQueuePolicy
		// A full work queue pushes back on publishers rather than dropping
		// queued host actions.
		cfg.Discard = jetstream.DiscardNew
	}
	return cfg
}

// EnsureStreams creates the streams, or updates them to the configuration.
// An existing stream keeps its replica count: every service ensures the
// streams when it starts, and one started with the default must not shrink
// an R3 stream that an operator (or `rollwave serve --replicas 3`) set up.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, specs []contracts.StreamSpec, replicas int) error {
	for _, s := range specs {
		cfg := StreamConfig(s, replicas)
		if existing, err := js.Stream(ctx, s.Name); err == nil {
			cfg.Replicas = existing.CachedInfo().Config.Replicas
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("look up stream %s: %w", s.Name, err)
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// ConsumerConfig turns a contract consumer definition into a configuration
// for a durable pull consumer with explicit acks.
func ConsumerConfig(c contracts.ConsumerSpec) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Durable,
		FilterSubject: c.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    c.MaxDeliver,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// EnsureConsumer creates or updates a durable consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, c contracts.ConsumerSpec) (jetstream.Consumer, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, c.Stream, ConsumerConfig(c))
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", c.Durable, c.Stream, err)
	}
	return cons, nil
}

// OrderedFrom returns an ordered consumer of stream that starts after
// the sequence a service last applied (0 means from the beginning). Services
// that record the applied sequence in their own database use it to resume
// exactly where they stopped.
func OrderedFrom(ctx context.Context, js jetstream.JetStream, stream string, filters []string, applied uint64) (jetstream.Consumer, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters}
	if applied > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = applied + 1
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("ordered consumer on %s: %w", stream, err)
	}
	return cons, nil
}

// IsNoResponders reports whether a request found nobody listening.
func IsNoResponders(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, errNoResponders)
}
