package pipeline

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestShardedHistogramMatchesPrometheus: values observed over several
// shards gather exactly as one prometheus.Histogram fed the same values,
// including values on bucket bounds and past the last one.
func TestShardedHistogramMatchesPrometheus(t *testing.T) {
	opts := prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: []float64{0.1, 1, 10}}
	want := prometheus.NewHistogram(opts)
	got := newShardedHistogram(opts, 3)
	for i, v := range []float64{0, 0.05, 0.1, 0.5, 1, 2, 10, 11, 1e9, 0.1, 3} {
		want.Observe(v)
		got.observe(i%3, v)
	}
	a, b := gatherOne(t, want), gatherOne(t, got)
	if a.GetSampleCount() != b.GetSampleCount() || a.GetSampleSum() != b.GetSampleSum() {
		t.Fatalf("count/sum = %d/%v, want %d/%v", b.GetSampleCount(), b.GetSampleSum(), a.GetSampleCount(), a.GetSampleSum())
	}
	for i, wb := range a.GetBucket() {
		gb := b.GetBucket()[i]
		if gb.GetUpperBound() != wb.GetUpperBound() || gb.GetCumulativeCount() != wb.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d, want le=%v: %d", gb.GetUpperBound(), gb.GetCumulativeCount(), wb.GetUpperBound(), wb.GetCumulativeCount())
		}
	}
}

func gatherOne(t *testing.T, c prometheus.Collector) *dto.Histogram {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs[0].GetMetric()[0].GetHistogram()
}
