package natsx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rollwave/rollwave/pkg/natstest"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func TestStreamCollectorReportsDurableLagOnly(t *testing.T) {
	s := natstest.RunServer(t)
	js := natstest.JetStream(t, natstest.Connect(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := js.Publish(ctx, "work.a", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	durable, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "pool-a", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	// Two delivered, one of them acknowledged: pending 3, ack pending 1.
	batch, err := durable.Fetch(2, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	first := true
	for m := range batch.Messages() {
		if first {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
			first = false
		}
	}
	if _, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{}); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(natsx.NewStreamCollector(js, []string{"WORK", "MISSING"}))
	want := `
# HELP rollwave_consumer_ack_pending_messages Messages delivered to a durable consumer and not yet acknowledged.
# TYPE rollwave_consumer_ack_pending_messages gauge
rollwave_consumer_ack_pending_messages{consumer="pool-a",stream="WORK"} 1
# HELP rollwave_consumer_pending_messages Messages of the stream a durable consumer has not been delivered yet: its lag.
# TYPE rollwave_consumer_pending_messages gauge
rollwave_consumer_pending_messages{consumer="pool-a",stream="WORK"} 3
# HELP rollwave_stream_messages Messages stored in a Rollwave stream.
# TYPE rollwave_stream_messages gauge
rollwave_stream_messages{stream="WORK"} 5
# HELP rollwave_stream_scrape_errors JetStream calls that failed during this scrape.
# TYPE rollwave_stream_scrape_errors gauge
rollwave_stream_scrape_errors 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rollwave_consumer_ack_pending_messages",
		"rollwave_consumer_pending_messages", "rollwave_stream_messages", "rollwave_stream_scrape_errors"); err != nil {
		t.Fatal(err)
	}
	// The ordered consumer's random name never becomes a label.
	n, err := testutil.GatherAndCount(reg, "rollwave_consumer_pending_messages")
	if err != nil || n != 1 {
		t.Fatalf("%d consumer series, %v", n, err)
	}
}
