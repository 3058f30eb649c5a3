package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// clientMetrics is franz-go's client metrics (kprom, sluice_kgo_*) with
// the two counters it adds to on every fetched or produced batch,
// fetch_bytes_total and produce_bytes_total by node_id and topic, kept
// here under the same names and labels. kprom formats the broker's node
// ID, builds a label map and looks the series up in its CounterVec for
// every batch, and a fetch from 480 partitions is 480 batches: that was 3%
// of a passthrough processor's CPU at 480 partitions. Here each broker and
// topic's counter is looked up once.
type clientMetrics struct {
	*kprom.Metrics
	reg               prometheus.Registerer
	fetchVec, prodVec *prometheus.CounterVec
	fetched, produced *counterCache[brokerTopic]
}

// brokerTopic is a series of the per-batch counters.
type brokerTopic struct {
	node  int32
	topic string
}

func (k brokerTopic) labelValues() []string { return []string{kgo.NodeName(k.node), k.topic} }

// newClientMetrics returns the hooks of one client (each client the
// processor builds gets its own); constLabels go on every series.
func newClientMetrics(namespace string, reg prometheus.Registerer, constLabels prometheus.Labels) *clientMetrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels},
			[]string{"node_id", "topic"})
	}
	m := &clientMetrics{
		// ConsistentNaming moves kprom's own byte counters to other names
		// (fetch_uncompressed_bytes_total, ...), which stay empty and so
		// are not exported: the hooks below replace the ones that fill
		// them.
		Metrics: kprom.NewMetrics(namespace, kprom.Registerer(reg), kprom.WithStaticLabel(constLabels),
			kprom.FetchAndProduceDetail(kprom.ConsistentNaming)),
		reg:      reg,
		fetchVec: vec("fetch_bytes_total", "Total number of uncompressed bytes fetched"),
		prodVec:  vec("produce_bytes_total", "Total number of uncompressed bytes produced"),
	}
	m.fetched = newCounterCache(m.fetchVec, brokerTopic.labelValues)
	m.produced = newCounterCache(m.prodVec, brokerTopic.labelValues)
	return m
}

// OnNewClient registers kprom's collectors and these, as kprom does.
func (m *clientMetrics) OnNewClient(cl *kgo.Client) {
	m.Metrics.OnNewClient(cl)
	// Like kprom's own registrations (promauto) this panics on a clash; the
	// processor's metrics, registered first under the same processor
	// label, would have failed New before.
	m.reg.MustRegister(m.fetchVec, m.prodVec)
}

// OnClientClosed unregisters what OnNewClient registered.
func (m *clientMetrics) OnClientClosed(cl *kgo.Client) {
	m.Metrics.OnClientClosed(cl)
	m.reg.Unregister(m.fetchVec)
	m.reg.Unregister(m.prodVec)
}

// OnFetchBatchRead replaces kprom's: see clientMetrics.
func (m *clientMetrics) OnFetchBatchRead(meta kgo.BrokerMetadata, topic string, _ int32, b kgo.FetchBatchMetrics) {
	m.fetched.get(brokerTopic{meta.NodeID, topic}).Add(float64(b.UncompressedBytes))
}

// OnProduceBatchWritten replaces kprom's: see clientMetrics.
func (m *clientMetrics) OnProduceBatchWritten(meta kgo.BrokerMetadata, topic string, _ int32, b kgo.ProduceBatchMetrics) {
	m.produced.get(brokerTopic{meta.NodeID, topic}).Add(float64(b.UncompressedBytes))
}

var (
	_ kgo.HookNewClient           = (*clientMetrics)(nil)
	_ kgo.HookClientClosed        = (*clientMetrics)(nil)
	_ kgo.HookFetchBatchRead      = (*clientMetrics)(nil)
	_ kgo.HookProduceBatchWritten = (*clientMetrics)(nil)
)
