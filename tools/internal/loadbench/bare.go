package loadbench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rollwave/rollwave/pkg/natsembed"
)

// bare pushes total messages of the same average size as Rollwave stored
// through a two-stage JetStream pipeline on a fresh server with the same
// durability: a producer publishes one request per deployment, a consumer
// fans each out into the remaining messages of that deployment on a work
// queue, and a second consumer acknowledges those. It returns the time
// until the last message is consumed.
func bare(ctx context.Context, o Options, total, bytes uint64) (time.Duration, error) {
	n := uint64(o.Deployments)
	if total < n {
		total = n
	}
	size := 64
	if total > 0 && bytes/total > 64 {
		size = int(bytes / total)
	}
	perDeploy := int((total - n) / n)

	s, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: filepath.Join(o.DataDir, "bare"), SyncAlways: o.SyncAlways})
	if err != nil {
		return 0, err
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	in, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "IN", Subjects: []string{"bare.in"}, Storage: jetstream.FileStorage})
	if err != nil {
		return 0, err
	}
	work, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"bare.work"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage})
	if err != nil {
		return 0, err
	}
	stage1, err := in.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "fanout", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		return 0, err
	}
	stage2, err := work.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "sink", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		return 0, err
	}
	payload := make([]byte, size)
	want := n * uint64(perDeploy)
	finished := make(chan struct{})
	var sunk uint64

	start := time.Now()
	c1, err := stage1.Consume(func(m jetstream.Msg) {
		for i := 0; i < perDeploy; i++ {
			if _, err := js.PublishAsync("bare.work", payload, jetstream.WithStallWait(time.Minute)); err != nil {
				return
			}
		}
		_ = m.Ack()
	})
	if err != nil {
		return 0, err
	}
	defer c1.Stop()
	c2, err := stage2.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		sunk++ // Consume calls back from one goroutine
		if sunk == want {
			close(finished)
		}
	})
	if err != nil {
		return 0, err
	}
	defer c2.Stop()
	for i := uint64(0); i < n; i++ {
		if _, err := js.PublishAsync("bare.in", payload, jetstream.WithStallWait(time.Minute)); err != nil {
			return 0, fmt.Errorf("publish: %w", err)
		}
	}
	if want == 0 {
		close(finished)
	}
	select {
	case <-finished:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("bare pipeline: %d of %d consumed: %w", sunk, want, ctx.Err())
	}
}
