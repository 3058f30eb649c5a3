package pipeline

import (
	"math"
	"sort"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// shardedHistogram is a Prometheus histogram (classic buckets) in shards,
// summed at scrape time: one per worker for handler times. With a single
// prometheus.Histogram every worker would write the same few cache lines,
// which on a fast handler cost more than the handler.
type shardedHistogram struct {
	desc   *prometheus.Desc
	bounds []float64
	shards []histShard
}

// histShard is written by one goroutine at a time, mostly; the padding
// keeps two shards off one cache line.
type histShard struct {
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumBits atomic.Uint64
	_       [64]byte
}

func newShardedHistogram(opts prometheus.HistogramOpts, shards int) *shardedHistogram {
	h := &shardedHistogram{
		desc:   prometheus.NewDesc(prometheus.BuildFQName(opts.Namespace, opts.Subsystem, opts.Name), opts.Help, nil, opts.ConstLabels),
		bounds: opts.Buckets,
		shards: make([]histShard, shards),
	}
	for i := range h.shards {
		h.shards[i].counts = make([]atomic.Uint64, len(opts.Buckets)+1)
	}
	return h
}

// observe adds n observations of v to shard i modulo the shards (n > 1 for
// a sampled value standing for the records not timed, see sampler).
func (h *shardedHistogram) observe(i int, v float64, n uint64) {
	s := &h.shards[i%len(h.shards)]
	var b int
	if len(h.bounds) <= 16 {
		for b < len(h.bounds) && v > h.bounds[b] {
			b++
		}
	} else {
		// The first bound >= v (buckets are upper-inclusive).
		b = sort.SearchFloat64s(h.bounds, v)
	}
	s.counts[b].Add(n)
	v *= float64(n)
	for {
		// Uncontended, as one goroutine writes a shard at a time, but
		// a compare-and-swap keeps the sum right when two do.
		old := s.sumBits.Load()
		if s.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (h *shardedHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *shardedHistogram) Collect(ch chan<- prometheus.Metric) {
	counts := make([]uint64, len(h.bounds)+1)
	var sum float64
	for i := range h.shards {
		s := &h.shards[i]
		for b := range s.counts {
			counts[b] += s.counts[b].Load()
		}
		sum += math.Float64frombits(s.sumBits.Load())
	}
	buckets := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for b, upper := range h.bounds {
		cum += counts[b]
		buckets[upper] = cum
	}
	ch <- prometheus.MustNewConstHistogram(h.desc, cum+counts[len(h.bounds)], sum, buckets)
}
