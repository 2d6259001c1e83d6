package natsx

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the JetStream calls of one scrape: a slow broker
// must not stall Prometheus.
const scrapeTimeout = 2 * time.Second

var (
	streamMessagesDesc = prometheus.NewDesc("rollwave_stream_messages",
		"Messages stored in a Rollwave stream.", []string{"stream"}, nil)
	streamBytesDesc = prometheus.NewDesc("rollwave_stream_bytes",
		"Bytes stored in a Rollwave stream.", []string{"stream"}, nil)
	consumerPendingDesc = prometheus.NewDesc("rollwave_consumer_pending_messages",
		"Messages of the stream a durable consumer has not been delivered yet: its lag.", []string{"stream", "consumer"}, nil)
	consumerAckPendingDesc = prometheus.NewDesc("rollwave_consumer_ack_pending_messages",
		"Messages delivered to a durable consumer and not yet acknowledged.", []string{"stream", "consumer"}, nil)
	consumerRedeliveredDesc = prometheus.NewDesc("rollwave_consumer_redelivered_messages",
		"Messages a durable consumer has delivered more than once and not yet acknowledged.", []string{"stream", "consumer"}, nil)
	scrapeErrorsDesc = prometheus.NewDesc("rollwave_stream_scrape_errors",
		"JetStream calls that failed during this scrape.", nil, nil)
)

// StreamCollector exports the size of the given streams and the lag of their
// durable consumers, read from JetStream at scrape time. Ephemeral (ordered)
// consumers are left out: their names are random, so they would make labels
// without bound.
type StreamCollector struct {
	js      jetstream.JetStream
	streams []string
}

// NewStreamCollector collects the named streams.
func NewStreamCollector(js jetstream.JetStream, streams []string) *StreamCollector {
	return &StreamCollector{js: js, streams: streams}
}

// Describe implements prometheus.Collector.
func (c *StreamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{streamMessagesDesc, streamBytesDesc, consumerPendingDesc,
		consumerAckPendingDesc, consumerRedeliveredDesc, scrapeErrorsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0
	for _, name := range c.streams {
		s, err := c.js.Stream(ctx, name)
		if err != nil {
			failed++
			continue
		}
		st := s.CachedInfo().State
		ch <- prometheus.MustNewConstMetric(streamMessagesDesc, prometheus.GaugeValue, float64(st.Msgs), name)
		ch <- prometheus.MustNewConstMetric(streamBytesDesc, prometheus.GaugeValue, float64(st.Bytes), name)
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			if ci.Config.Durable == "" {
				continue
			}
			ch <- prometheus.MustNewConstMetric(consumerPendingDesc, prometheus.GaugeValue, float64(ci.NumPending), name, ci.Name)
			ch <- prometheus.MustNewConstMetric(consumerAckPendingDesc, prometheus.GaugeValue, float64(ci.NumAckPending), name, ci.Name)
			ch <- prometheus.MustNewConstMetric(consumerRedeliveredDesc, prometheus.GaugeValue, float64(ci.NumRedelivered), name, ci.Name)
		}
		if consumers.Err() != nil {
			failed++
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorsDesc, prometheus.GaugeValue, float64(failed))
}
