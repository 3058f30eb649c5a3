package pipeline

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestShardedHistogramMatchesPrometheus: values observed over several
// shards gather exactly as one prometheus.Histogram fed the same values,
// including values on bucket bounds and past the last one.
// With many buckets (the end-to-end histogram's 70) observe searches them
// in halves instead of in order, and a shard index past the shards wraps.
func TestShardedHistogramMatchesPrometheus(t *testing.T) {
	few := []float64{0.1, 1, 10}
	values := []float64{0, 0.05, 0.1, 0.5, 1, 2, 10, 11, 1e9, 0.1, 3}
	t.Run("few buckets", func(t *testing.T) { compareHistograms(t, few, values) })
	many := DefaultLatencyBuckets()
	values = append(values, many[0], many[1], many[35], many[35]*1.0001, many[69], many[69]*2, 0.0042, 17)
	t.Run("many buckets", func(t *testing.T) { compareHistograms(t, many, values) })
}

// TestShardedHistogramWeighs: a value observed n times at once (a sampled
// record standing for others) counts n times in its bucket, the count and
// the sum, as n observations of it would.
func TestShardedHistogramWeighs(t *testing.T) {
	opts := prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: []float64{0.1, 1, 10}}
	want := prometheus.NewHistogram(opts)
	got := newShardedHistogram(opts, 2)
	for _, o := range []struct {
		v float64
		n uint64
	}{{0.05, 3}, {2, 7}, {20, 1}, {0.5, 15}} {
		for range o.n {
			want.Observe(o.v)
		}
		got.observe(int(o.n), o.v, o.n)
	}
	a, b := gatherOne(t, want), gatherOne(t, got)
	if a.GetSampleCount() != b.GetSampleCount() || math.Abs(a.GetSampleSum()-b.GetSampleSum()) > 1e-9 {
		t.Fatalf("count/sum = %d/%v, want %d/%v", b.GetSampleCount(), b.GetSampleSum(), a.GetSampleCount(), a.GetSampleSum())
	}
	for i, wb := range a.GetBucket() {
		if gb := b.GetBucket()[i]; gb.GetCumulativeCount() != wb.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d, want %d", wb.GetUpperBound(), gb.GetCumulativeCount(), wb.GetCumulativeCount())
		}
	}
}

func compareHistograms(t *testing.T, bounds, values []float64) {
	opts := prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: bounds}
	want := prometheus.NewHistogram(opts)
	got := newShardedHistogram(opts, 3)
	for i, v := range values {
		want.Observe(v)
		got.observe(i*2, v, 1)
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
