package pipeline

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Ordering says which records of the input may be processed at the same
// time. The names follow Confluent Parallel Consumer.
type Ordering int

const (
	// KeyOrder processes records with the same key strictly one after the
	// other, in offset order, and records with different keys in parallel,
	// even inside one partition. It is the default.
	KeyOrder Ordering = iota
	// PartitionOrder processes one record at a time per partition, like a
	// plain Kafka consumer.
	PartitionOrder
	// Unordered processes any records in parallel. Commits still never pass
	// an unfinished record.
	Unordered
)

// ParseOrdering parses "key", "partition" or "unordered".
func ParseOrdering(s string) (Ordering, error) {
	switch s {
	case "key":
		return KeyOrder, nil
	case "partition":
		return PartitionOrder, nil
	case "unordered":
		return Unordered, nil
	}
	return 0, fmt.Errorf("unknown ordering %q: want key, partition or unordered", s)
}

func (o Ordering) String() string {
	switch o {
	case KeyOrder:
		return "key"
	case PartitionOrder:
		return "partition"
	case Unordered:
		return "unordered"
	}
	return fmt.Sprintf("Ordering(%d)", int(o))
}

type config struct {
	name           string
	group          string
	topics         []string
	ordering       Ordering
	workers        int
	maxRecords     int
	maxBytes       int64
	commitInterval time.Duration
	revokeTimeout  time.Duration
	drainTimeout   time.Duration
	logger         *slog.Logger
	registerer     prometheus.Registerer
	clientOpts     []kgo.Opt
	onError        ErrorHandler

	retryDelays       []time.Duration
	deadLetterTopic   string // "" means <input>.dlq
	connectHeaders    bool
	keyOrderedRetries bool
	panicsRetryable   bool
	handlerTimeout    time.Duration
	createTopics      bool
	concurrentOutputs bool
	middleware        []Middleware
	latencyBuckets    []float64
	instanceID        string
	exactlyOnce       bool
	transactionalID   string
	metadataMaxBytes  int

	// set counts the options given, by option name, for the rules that
	// refuse contradictory combinations (see validate).
	set map[string]int
}

func defaultConfig(name string) config {
	return config{
		name:           name,
		group:          name,
		ordering:       KeyOrder,
		workers:        runtime.GOMAXPROCS(0),
		maxRecords:     DefaultMaxInFlightRecords,
		maxBytes:       DefaultMaxInFlightBytes,
		commitInterval: time.Second,
		revokeTimeout:  20 * time.Second,
		drainTimeout:   30 * time.Second,
		logger:         slog.Default(),

		keyOrderedRetries: true,
		createTopics:      true,
		latencyBuckets:    DefaultLatencyBuckets(),
		metadataMaxBytes:  DefaultOffsetMetadataMaxBytes,
		set:               map[string]int{},
	}
}

// Option configures a Processor.
//
// Options are named for what they set, with no With prefix. A setting that
// is on by default takes a bool (CreateTopics(false)); a behaviour that is
// off by default is turned on by an option without arguments
// (StopOnError()). New checks every option and refuses bad values and
// contradictory combinations, naming the option and the value.
type Option func(*config)

// mark records that option name was given.
func (c *config) mark(name string) { c.set[name]++ }

// Group sets the consumer group. Default: the processor's name. Every
// instance of a processor uses the same group; Kafka spreads the partitions
// over them.
func Group(group string) Option { return func(c *config) { c.mark("Group"); c.group = group } }

// Topics sets the input topics. Required.
func Topics(topics ...string) Option {
	return func(c *config) { c.mark("Topics"); c.topics = append(c.topics, topics...) }
}

// OrderBy sets the ordering mode. Default: KeyOrder.
func OrderBy(o Ordering) Option { return func(c *config) { c.mark("OrderBy"); c.ordering = o } }

// Workers sets how many handlers run at once. Default: GOMAXPROCS, right for
// CPU-bound handlers; raise it for handlers that mostly wait on I/O.
//
// Workers beyond the first take records only while handlers are worth
// running in parallel: while the handler takes at least half of a record's
// time in the worker (a quarter, once they are engaged), or as soon as a
// batch of records has run for a millisecond (a handler that blocks).
// Light handlers (passthrough, filter, route) run on one worker, because
// the runtime around them does not go faster on more: a second one only
// added hand-offs between cores and lock contention in the client (8-12%
// more CPU per record, same rate; see pipeline/PERFORMANCE.md).
//
// A worker takes up to 64 runnable records at once and runs them one after
// another. A handler that hangs holds back the later records of its own
// key (and of keys that share its scheduler lane, rare) until it returns;
// once its worker has been in that record for a millisecond, or 8 times
// its usual handler time if that is longer, the records of its batch it
// has not started go to the other workers, in key order, and
// sluice_processor_handler_stalls_total counts the stall. Bound a
// handler's time with HandlerTimeout.
func Workers(n int) Option { return func(c *config) { c.mark("Workers"); c.workers = n } }

// The defaults of MaxInFlight.
const (
	DefaultMaxInFlightRecords       = 50_000
	DefaultMaxInFlightBytes   int64 = 64 << 20
)

// MaxInFlight caps the records (default 50,000) and value+key bytes
// (default 64 MiB) that are fetched but not finished. At the cap the
// processor pauses fetching instead of buffering more, which bounds memory
// when handlers are slower than the input.
//
// A record stays in flight until its outputs are acknowledged, so the cap
// also bounds throughput: at most records/latency per second. Against a
// Kafka 4.1 broker, a passthrough processor of small records reached 0.60
// of a hand-written loop's rate with a 10,000-record cap and 0.83 with the
// default (BenchmarkRuntimeOverheadKafka). The cost of a larger cap is the
// work in flight: redone after a crash, and finished before a graceful
// shutdown returns. For slow handlers lower it to a few seconds' worth of
// records.
func MaxInFlight(records int, bytes int64) Option {
	return func(c *config) { c.mark("MaxInFlight"); c.maxRecords, c.maxBytes = records, bytes }
}

// CommitInterval sets how often finished offsets are committed. Default 1s.
// Shorter means fewer duplicates after a crash, longer means fewer commit
// requests. Offsets are also committed on revoke and on shutdown.
func CommitInterval(d time.Duration) Option {
	return func(c *config) { c.mark("CommitInterval"); c.commitInterval = d }
}

// RevokeTimeout bounds how long a rebalance waits for in-flight records of
// revoked partitions to finish before committing what is done and letting
// the rebalance go on. Default 20s; keep it well under the group's
// rebalance timeout (60s by default).
func RevokeTimeout(d time.Duration) Option {
	return func(c *config) { c.mark("RevokeTimeout"); c.revokeTimeout = d }
}

// DrainTimeout bounds how long a graceful shutdown waits for fetched records
// to finish. Default 30s. When it expires the handlers' context is
// cancelled, and Run returns within ShutdownMargin more even if a handler
// ignores it; records not finished by then are left uncommitted for the
// next owner.
func DrainTimeout(d time.Duration) Option {
	return func(c *config) { c.mark("DrainTimeout"); c.drainTimeout = d }
}

// Logger sets the structured logger. Default: slog.Default().
func Logger(l *slog.Logger) Option { return func(c *config) { c.mark("Logger"); c.logger = l } }

// Metrics registers the processor's Prometheus metrics with r. Default: no
// metrics are registered. They are registered by New and unregistered when
// Run returns, so a processor of the same name can be built again on r.
func Metrics(r prometheus.Registerer) Option {
	return func(c *config) { c.mark("Metrics"); c.registerer = r }
}

// ShutdownMargin is how long Run may take beyond DrainTimeout to return
// when handlers do not return by then: it lets a transaction that is ending
// finish, waits for the workers, flushes, commits and leaves the group,
// each for at most a fifth of it, and returns even if a handler is still
// blocked (its record stays uncommitted).
const ShutdownMargin = 5 * time.Second

// ClientOptions adds franz-go client options, typically the connection
// settings from kafkaconn.Config.Options (brokers, TLS, SASL). They win over
// the processor's tuning defaults (fetch sizes, linger, in exactly-once mode
// kgo.TransactionTimeout: the larger of 10s and 10 commit intervals); options
// the processor depends on (consumer group, manual commits, rebalance
// callbacks, the transactional ID) are set after these and win.
func ClientOptions(opts ...kgo.Opt) Option {
	return func(c *config) { c.mark("ClientOptions"); c.clientOpts = append(c.clientOpts, opts...) }
}

// OnError replaces the built-in routing of failed records (retry tiers and
// dead-letter topic) with h.
func OnError(h ErrorHandler) Option { return func(c *config) { c.mark("OnError"); c.onError = h } }

// StopOnError makes a failed record stop the processor with a *RecordError
// naming it, committing nothing past it, instead of routing it to a retry or
// dead-letter topic. For pipelines where a failure needs a human at once.
func StopOnError() Option { return func(c *config) { c.mark("StopOnError"); c.onError = stopOnError } }

// RetryDelays sets the retry tiers: a record whose handler fails with a
// Retryable error goes to topic <input>.retry.<delays[0]> (see failure.RetryTopic),
// is processed again once that delay has passed, on failure goes to the
// next tier, and after the last one to the dead-letter topic. The processor
// consumes its own retry topics; waiting for a record to be due pauses that
// retry partition and never holds a worker. Default: no tiers (retryable
// failures go straight to the dead-letter topic). Typical: 5s, 30s, 5m.
func RetryDelays(delays ...time.Duration) Option {
	return func(c *config) { c.mark("RetryDelays"); c.retryDelays = append([]time.Duration(nil), delays...) }
}

// DeadLetterTopic sets the dead-letter topic for every input. Default:
// <input>.dlq for each input topic.
func DeadLetterTopic(topic string) Option {
	return func(c *config) { c.mark("DeadLetterTopic"); c.deadLetterTopic = topic }
}

// ConnectHeaders writes Kafka Connect's __connect.errors.* header names on
// dead-letter records instead of Sluice's sluice.* error headers, so tools
// built for Connect's dead-letter queues can read them.
func ConnectHeaders() Option {
	return func(c *config) { c.mark("ConnectHeaders"); c.connectHeaders = true }
}

// KeyOrderedRetries (on by default; KeyOrder mode only) keeps a key's order
// through retries: while a record of a key waits in a retry tier, later
// records of that key are parked behind it in the retry path (header
// sluice.parked) instead of overtaking it. The bookkeeping lives in the
// instance, so it holds while partition ownership is stable; a rebalance
// clears it (records then run as they come, never stuck).
func KeyOrderedRetries(on bool) Option {
	return func(c *config) { c.mark("KeyOrderedRetries"); c.keyOrderedRetries = on }
}

// PanicsRetryable treats recovered handler panics as Retryable instead of
// Permanent.
func PanicsRetryable() Option {
	return func(c *config) { c.mark("PanicsRetryable"); c.panicsRetryable = true }
}

// HandlerTimeout gives each handler call a context with this deadline (a
// middleware inside the user's, see Use). A handler that fails after its
// deadline has a Retryable failure. Go cannot stop a goroutine, so a
// handler that ignores its context still holds its worker until it
// returns. Default: 0, no deadline.
func HandlerTimeout(d time.Duration) Option {
	return func(c *config) { c.mark("HandlerTimeout"); c.handlerTimeout = d }
}

// InstanceID makes this instance a static member of its consumer group
// (KIP-345) under id: a restart with the same id takes back its partitions
// at once, without waiting for the old member's session to time out and
// without a rebalance. Give every live instance of a group its own id (a
// StatefulSet pod name, a host name); a second live instance with the same
// id fences the first, which stops with ErrInstanceFenced. A static member
// does not leave the group when it stops, so its partitions wait for it (up
// to the session timeout) rather than moving. Default: none (dynamic
// membership).
func InstanceID(id string) Option {
	return func(c *config) { c.mark("InstanceID"); c.instanceID = id }
}

// ExactlyOnce turns on exactly-once processing (Kafka transactions,
// KIP-447). Every CommitInterval the processor commits a transaction that
// holds the outputs, retry-tier and dead-letter records written since the
// last one together with the input offsets (and the finished offsets above
// them, in the offset metadata), so for readers with isolation level
// read_committed every record's outputs appear exactly once, even across
// crashes, rebalances and zombie instances (a frozen instance's late
// transaction is fenced and aborted). Workers keep running across
// transactions; producing pauses only while one ends.
//
// The cost: outputs become visible to read_committed readers only when
// their transaction commits (up to CommitInterval later), a rebalance aborts
// the open transaction (its records run again), and the principal needs
// WRITE and DESCRIBE on its transactional ID. The brokers need
// transaction.state.log.replication.factor and min.isr they can meet.
// Default: at-least-once.
func ExactlyOnce() Option { return func(c *config) { c.mark("ExactlyOnce"); c.exactlyOnce = true } }

// TransactionalID sets the transactional ID of ExactlyOnce mode. A new
// instance with the ID of an old one fences it: give each live instance its
// own. Default: "sluice-<group>-<InstanceID>", or with no InstanceID, a
// random suffix.
func TransactionalID(id string) Option {
	return func(c *config) { c.mark("TransactionalID"); c.transactionalID = id }
}

// DefaultOffsetMetadataMaxBytes is the default of Kafka's
// offset.metadata.max.bytes.
const DefaultOffsetMetadataMaxBytes = 4096

// OffsetMetadataMaxBytes tells the processor the brokers'
// offset.metadata.max.bytes. Commits carry the finished offsets above the
// committed one in the offset metadata (precise resume: a new owner skips
// them); when a partition's records finish so far out of order that the
// metadata could outgrow this limit, fetching from that partition pauses
// until it has room again, so a commit never fails and nothing finished
// goes unrecorded. Default: 4096, Kafka's default.
func OffsetMetadataMaxBytes(n int) Option {
	return func(c *config) { c.mark("OffsetMetadataMaxBytes"); c.metadataMaxBytes = n }
}

// Use adds handler middleware, outermost first, for cross-cutting work
// such as tracing, metrics or authorization checks. Sluice's own
// middleware sits around it (panic recovery, outermost, and panic
// classification) and inside it (HandlerTimeout), so a panic in user
// middleware is recovered too.
func Use(mw ...Middleware) Option {
	return func(c *config) { c.mark("Use"); c.middleware = append(c.middleware, mw...) }
}

// DefaultLatencyBuckets returns the default bucket bounds of the
// end-to-end latency histogram: 1 ms to about 5 minutes in steps of 20%,
// so a quantile read from them is within about 10% of the true value.
func DefaultLatencyBuckets() []float64 { return prometheus.ExponentialBuckets(0.001, 1.2, 70) }

// LatencyBuckets sets the bucket bounds (seconds, increasing) of
// sluice_processor_end_to_end_seconds. Default: DefaultLatencyBuckets.
func LatencyBuckets(bounds ...float64) Option {
	return func(c *config) { c.mark("LatencyBuckets"); c.latencyBuckets = append([]float64(nil), bounds...) }
}

// ConcurrentOutputs produces all outputs of a record at once instead of in
// order. By default a record's outputs are produced one after the other,
// each once the previous one is acknowledged, so a reader of a later output
// can rely on the earlier ones being in Kafka: the order pipeline writes a
// status update before handing the order to the next stage, and the next
// stage's status can then never land before it. Kafka orders records only
// within a partition, so without this, outputs to different topics become
// visible in any order. Concurrent outputs finish records sooner when a
// handler returns several independent outputs.
func ConcurrentOutputs() Option {
	return func(c *config) { c.mark("ConcurrentOutputs"); c.concurrentOutputs = true }
}

// CreateTopics (on by default) creates missing retry and dead-letter topics
// at start, with the partition count of their input topic and the broker's
// default replication factor. Turn it off where topics are managed
// elsewhere; the processor then fails at start if one is missing.
func CreateTopics(on bool) Option {
	return func(c *config) { c.mark("CreateTopics"); c.createTopics = on }
}
