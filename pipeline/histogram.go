package pipeline

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// shardedHistogram is a Prometheus histogram with one shard per worker,
// summed at scrape time. Every worker observes every record it runs; with a
// single prometheus.Histogram they would all write the same few cache lines,
// which on a fast handler cost more than the handler.
type shardedHistogram struct {
	desc   *prometheus.Desc
	bounds []float64
	shards []histShard
}

// histShard is written by one worker only; the padding keeps two shards off
// one cache line.
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

// observe adds v to shard i. Only the shard's worker calls it, so the
// read-modify-write of the sum races with nobody but a scrape's read.
func (h *shardedHistogram) observe(i int, v float64) {
	s := &h.shards[i]
	b := 0
	for b < len(h.bounds) && v > h.bounds[b] {
		b++
	}
	s.counts[b].Add(1)
	s.sumBits.Store(math.Float64bits(math.Float64frombits(s.sumBits.Load()) + v))
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
