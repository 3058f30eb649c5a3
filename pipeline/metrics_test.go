package pipeline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestMetricsReportWhatHappened: after a run, the processor's metrics say
// how many records were consumed and succeeded, that lag is zero on every
// partition, and franz-go's client metrics are there too, among them the
// bytes fetched and produced per broker and topic (counted by Sluice's own
// hooks, see clientMetrics); they are gone once Run returned.
func TestMetricsReportWhatHappened(t *testing.T) {
	brokers := fakeKafka(t, 3, "in", "out")
	const n = 500
	produceKeyed(t, brokers, "in", n, 20)
	reg := prometheus.NewRegistry()
	p, err := pipeline.New("metered", passthrough("out"), pipeline.Topics("in"), pipeline.Metrics(reg),
		pipeline.CommitInterval(20*time.Millisecond), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	sums := func() map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				out[mf.GetName()] += v
				if mf.GetName() == "sluice_processor_lag_records" {
					out["lag_series"]++
				}
			}
		}
		return out
	}
	waitUntil(t, 20*time.Second, "all records committed", func() bool {
		s := sums()
		return s["sluice_processor_records_succeeded_total"] == n && s["lag_series"] == 3 && s["sluice_processor_lag_records"] == 0
	})
	s := sums()
	for name, want := range map[string]float64{
		"sluice_processor_records_consumed_total": n,
		"sluice_processor_records_produced_total": n,
		"sluice_processor_assigned_partitions":    3,
		"sluice_processor_inflight_records":       0,
	} {
		if s[name] != want {
			t.Errorf("%s = %v, want %v", name, s[name], want)
		}
	}
	var kgoMetrics int
	for name := range s {
		if strings.HasPrefix(name, "sluice_kgo_") {
			kgoMetrics++
		}
	}
	if kgoMetrics == 0 {
		t.Error("no franz-go client metrics (sluice_kgo_*) registered")
	}
	// Each of the n records carries at least a byte: fetched bytes are
	// counted under the input topic, produced bytes under the output.
	bytesBy := func(name string) map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				var topic, node string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "topic":
						topic = l.GetValue()
					case "node_id":
						node = l.GetValue()
					}
				}
				if node == "" {
					t.Errorf("%s{topic=%q} has no node_id", name, topic)
				}
				out[topic] += m.GetCounter().GetValue()
			}
		}
		return out
	}
	if got := bytesBy("sluice_kgo_fetch_bytes_total"); got["in"] < n || len(got) != 1 {
		t.Errorf("sluice_kgo_fetch_bytes_total by topic = %v, want at least %d bytes of in only", got, n)
	}
	if got := bytesBy("sluice_kgo_produce_bytes_total"); got["out"] < n || len(got) != 1 {
		t.Errorf("sluice_kgo_produce_bytes_total by topic = %v, want at least %d bytes of out only", got, n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for name := range sums() {
		if strings.HasPrefix(name, "sluice_kgo_") {
			t.Errorf("%s still registered after Run returned", name)
		}
	}
}
