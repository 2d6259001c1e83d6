package contracts

import "time"

// Retention is a stream's retention policy.
type Retention string

const (
	RetentionLimits    Retention = "limits"
	RetentionWorkQueue Retention = "workqueue"
)

// StreamSpec declares a JetStream stream. It mirrors the few settings
// Rollwave relies on so that contracts needs no NATS client dependency;
// pkg/natsx turns it into a server configuration.
type StreamSpec struct {
	Name      string
	Subjects  []string
	Retention Retention
	MaxAge    time.Duration
	// Duplicates is the window in which a repeated Nats-Msg-Id is dropped.
	Duplicates time.Duration
	// AllowDirect lets `nats stream view` and direct gets read the stream.
	AllowDirect bool
}

// Stream names.
const (
	StreamRequests = "ROLLWAVE_REQUESTS"
	StreamEvents   = "ROLLWAVE_EVENTS"
	StreamActions  = "ROLLWAVE_ACTIONS"
	StreamResults  = "ROLLWAVE_RESULTS"
)

// Streams returns every stream Rollwave uses.
func Streams() []StreamSpec {
	return []StreamSpec{
		{Name: StreamRequests, Subjects: []string{"rollwave.requests.>"}, Retention: RetentionLimits,
			MaxAge: 7 * 24 * time.Hour, Duplicates: time.Hour, AllowDirect: true},
		{Name: StreamEvents, Subjects: []string{EventsWildcard()}, Retention: RetentionLimits,
			MaxAge: 90 * 24 * time.Hour, Duplicates: time.Hour, AllowDirect: true},
		{Name: StreamActions, Subjects: []string{"rollwave.actions.>"}, Retention: RetentionWorkQueue,
			MaxAge: 7 * 24 * time.Hour, Duplicates: time.Hour, AllowDirect: true},
		{Name: StreamResults, Subjects: []string{ResultsWildcard()}, Retention: RetentionLimits,
			MaxAge: 30 * 24 * time.Hour, Duplicates: time.Hour, AllowDirect: true},
	}
}

// ConsumerSpec declares a durable pull consumer.
type ConsumerSpec struct {
	Stream        string
	Durable       string
	FilterSubject string
	AckWait       time.Duration
	MaxDeliver    int
	MaxAckPending int
}

// PlannerConsumer is the planner's durable consumer of deploy requests.
func PlannerConsumer() ConsumerSpec {
	return ConsumerSpec{Stream: StreamRequests, Durable: "planner", FilterSubject: SubjectDeployRequest,
		AckWait: 30 * time.Second, MaxDeliver: 10, MaxAckPending: 1024}
}

// ExecutorConsumer is the durable consumer shared by all executors of a
// pool. ackWait bounds how long a dead executor holds an action.
func ExecutorConsumer(pool string, ackWait time.Duration) ConsumerSpec {
	return ConsumerSpec{Stream: StreamActions, Durable: "executor-" + pool, FilterSubject: ActionPoolFilter(pool),
		AckWait: ackWait, MaxDeliver: 5, MaxAckPending: 10000}
}

// DefaultPool is the executor pool of hosts that name none.
const DefaultPool = "default"

// ClaimsBucket is the key-value bucket where executors claim host actions by
// idempotency key before acting.
const ClaimsBucket = "rollwave-claims"

// ExecutorsBucket is the key-value bucket where each running executor
// instance keeps a liveness heartbeat, under its instance id. An entry
// expires with the bucket's TTL once its executor stops refreshing it, and
// a claim held by an instance without a heartbeat may be taken over.
const ExecutorsBucket = "rollwave-executors"
