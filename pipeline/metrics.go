package pipeline

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the processor's Prometheus collectors. They are always
// created (so the code never checks for nil) and registered only when the
// user passes a Registerer.
type metrics struct {
	consumed, produced, succeeded, failed *prometheus.CounterVec
	retried, deadLettered                 *prometheus.CounterVec
	parked                                prometheus.Counter
	panics, stalls, backpressure          prometheus.Counter
	rebalances                            prometheus.Counter
	commits, commitFailures, aborts       prometheus.Counter
	clientRestarts                        prometheus.Counter
	skipped, metadataHolds                prometheus.Counter
	assigned                              prometheus.Gauge
	inFlightGauge                         prometheus.GaugeFunc // read at scrape time: no atomic per record
	handlerSeconds                        *shardedHistogram    // one shard per worker
	e2eSeconds                            *shardedHistogram    // one shard: only the produce promises observe it, serially
	commitSeconds                         prometheus.Histogram
	committedOffset, lag                  *prometheus.GaugeVec
	producedCache                         *counterCache[string] // output topic → counter

	inflightOf atomic.Pointer[func() int64] // set while Run runs, for the in-flight gauge
	reg        prometheus.Registerer
	registered []prometheus.Collector
}

// topicCounters are the per-topic counters of one input topic, looked up
// once per partition assignment instead of once per record.
type topicCounters struct {
	consumed, succeeded, failed prometheus.Counter
}

func (m *metrics) forTopic(topic string) topicCounters {
	return topicCounters{
		consumed:  m.consumed.WithLabelValues(topic),
		succeeded: m.succeeded.WithLabelValues(topic),
		failed:    m.failed.WithLabelValues(topic),
	}
}

// producedTo returns the produced counter of an output topic, cached: the
// label lookup would otherwise run for every output record.
func (m *metrics) producedTo(topic string) prometheus.Counter { return m.producedCache.get(topic) }

// counterCache finds the counters of a CounterVec by a key of its own
// without the vec's lookup (labels hashed, a lock taken) on every call.
// Keys are few and fixed (output topics, brokers), so the map is copied on
// the rare write and read without a lock.
type counterCache[K comparable] struct {
	vec    *prometheus.CounterVec
	labels func(K) []string // the vec's label values for a key
	mu     sync.Mutex       // serializes additions
	m      atomic.Pointer[map[K]prometheus.Counter]
}

func newCounterCache[K comparable](vec *prometheus.CounterVec, labels func(K) []string) *counterCache[K] {
	c := &counterCache[K]{vec: vec, labels: labels}
	c.m.Store(&map[K]prometheus.Counter{})
	return c
}

func (c *counterCache[K]) get(k K) prometheus.Counter {
	if ctr, ok := (*c.m.Load())[k]; ok {
		return ctr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if ctr, ok := old[k]; ok {
		return ctr
	}
	next := make(map[K]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	ctr := c.vec.WithLabelValues(c.labels(k)...)
	next[k] = ctr
	c.m.Store(&next)
	return ctr
}

// newMetrics creates the collectors and registers them with reg (if not
// nil). On error it unregisters what it registered, so nothing is left.
func newMetrics(processor string, reg prometheus.Registerer, workers int, latencyBuckets []float64) (*metrics, error) {
	const ns, sub = "sluice", "processor"
	labels := prometheus.Labels{"processor": processor}
	counter := func(name, help string, l ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, ConstLabels: labels}, l)
	}
	one := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, ConstLabels: labels})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, ConstLabels: labels})
	}
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, ConstLabels: labels, Buckets: buckets})
	}
	m := &metrics{reg: reg}
	inFlightNow := func() float64 {
		if inflight := m.inflightOf.Load(); inflight != nil {
			return float64((*inflight)())
		}
		return 0
	}
	*m = metrics{reg: reg,
		consumed:       counter("records_consumed_total", "Records fetched from an input topic.", "topic"),
		produced:       counter("records_produced_total", "Output records acknowledged by the broker.", "topic"),
		succeeded:      counter("records_succeeded_total", "Input records fully processed (outputs acknowledged).", "topic"),
		failed:         counter("records_failed_total", "Input records whose handler returned an error or panicked.", "topic"),
		retried:        counter("records_retried_total", "Failed records sent to a retry tier, by input topic.", "topic"),
		deadLettered:   counter("records_dead_lettered_total", "Failed records sent to the dead-letter topic, by input topic.", "topic"),
		parked:         one("records_parked_total", "Records parked in the retry path behind an earlier record of their key."),
		panics:         one("handler_panics_total", "Handler panics recovered."),
		stalls:         one("handler_stalls_total", "Handler calls that ran past the stall limit (1 ms, or 8 times the worker's recent mean handler time if longer); the records queued behind each in its worker's batch went to the other workers. Counted once per call, with Workers above 1 only."),
		backpressure:   one("backpressure_pauses_total", "Times fetching paused because the in-flight caps were reached."),
		rebalances:     one("rebalances_total", "Partition assignments received."),
		commits:        one("commits_total", "Successful offset commits."),
		commitFailures: one("commit_failures_total", "Failed offset commits (in exactly-once mode: transactions that did not commit)."),
		aborts:         one("transactions_aborted_total", "Transactions aborted (exactly-once mode): their records are processed again."),
		clientRestarts: one("client_restarts_total", "Kafka client restarts (exactly-once mode): a transaction did not end cleanly, e.g. the broker aborted it for outliving the transaction timeout; the new client resumes from the committed offsets."),
		skipped:        one("records_skipped_total", "Records not processed again because the commit metadata of an earlier owner names them finished (precise resume)."),
		metadataHolds:  one("metadata_holds_total", "Times a partition was held back because its commit metadata neared the broker's offset.metadata.max.bytes."),
		inFlightGauge: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "inflight_records",
			Help: "Records fetched and not yet finished.", ConstLabels: labels}, inFlightNow),
		assigned: gauge("assigned_partitions", "Partitions currently owned by this instance."),
		handlerSeconds: newShardedHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "handler_seconds", ConstLabels: labels,
			Help: "Time spent in the handler per record (sampled above 50,000 records/s per worker: one in about 8 is timed and counted for those since the last).", Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 14)}, workers),
		e2eSeconds: newShardedHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "end_to_end_seconds", ConstLabels: labels,
			Help:    "Time from the input record's timestamp (event time, which outputs carry on) until the broker acknowledged the last of its outputs (sampled above 50,000 records/s: one in about 8 is timed and counted for those since the last).",
			Buckets: latencyBuckets}, 1),
		commitSeconds:   hist("commit_seconds", "Offset commit latency.", prometheus.ExponentialBuckets(0.0005, 2.5, 12)),
		committedOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "committed_offset", Help: "Last offset committed per owned partition.", ConstLabels: labels}, []string{"topic", "partition"}),
		lag:             prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "lag_records", Help: "High watermark minus committed offset per owned partition, as of the last commit.", ConstLabels: labels}, []string{"topic", "partition"}),
	}
	m.producedCache = newCounterCache(m.produced, func(topic string) []string { return []string{topic} })
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.consumed, m.produced, m.succeeded, m.failed, m.retried, m.deadLettered, m.parked, m.panics, m.stalls, m.backpressure, m.rebalances,
		m.commits, m.commitFailures, m.aborts, m.clientRestarts, m.skipped, m.metadataHolds, m.inFlightGauge, m.assigned, m.handlerSeconds, m.e2eSeconds, m.commitSeconds, m.committedOffset, m.lag} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("metrics already registered: give each processor in one registry its own name (or let the other one's Run return first)")
			}
			return nil, err
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

// unregister removes every collector newMetrics registered.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
