package pipeline

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// fetcher owns fetching: it polls at most as many records as the in-flight
// caps leave room for, holds back retry partitions whose records are not
// due, registers the records in their partitions' windows and queues them
// for the executor by ordering key. It runs on Run's goroutine; kgo runs the
// rebalance callbacks between its polls (BlockRebalanceOnPoll).
type fetcher struct {
	name     string
	ordering Ordering
	log      *slog.Logger
	client   *kgo.Client
	topics   []string // everything subscribed: inputs and retry tiers
	ledger   *ledger
	queue    *schedule.Queue[*task]
	gates    *retry.Gates
	metrics  *metrics
	paused   bool
}

// loop polls and dispatches until ctx ends or the processor fails.
func (f *fetcher) loop(ctx context.Context) {
	for ctx.Err() == nil && !f.ledger.failing.Load() {
		room := f.waitForRoom(ctx)
		if room <= 0 {
			return
		}
		fetches := f.client.PollRecords(ctx, room)
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if ctx.Err() == nil {
				f.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
			}
		})
		f.ledger.noteHighWatermarks(fetches)
		f.dispatch(fetches)
		f.client.AllowRebalance()
	}
}

// pauseAfter is how long the caps may stay reached before fetching pauses.
// Not polling already stops kgo from fetching more than one buffered fetch
// per broker; pausing drops that buffer, so pausing at once on every burst
// would throw it away and refetch it many times over. A cap that stays
// reached this long is a slow handler, not a burst.
const pauseAfter = 200 * time.Millisecond

// waitForRoom blocks while the in-flight caps are reached and returns how
// many records may be polled (0 if ctx ended).
func (f *fetcher) waitForRoom(ctx context.Context) int {
	notFull := func() bool { return !f.ledger.full() || f.ledger.failing.Load() }
	if !notFull() {
		graceCtx, cancel := context.WithTimeout(ctx, pauseAfter)
		roomSoon := f.ledger.waitFor(graceCtx, notFull)
		cancel()
		if !roomSoon && ctx.Err() == nil {
			f.client.PauseFetchTopics(f.topics...)
			f.paused = true
			f.metrics.backpressure.Inc()
			f.ledger.waitFor(ctx, notFull)
		}
	}
	if ctx.Err() != nil || f.ledger.failing.Load() {
		return 0
	}
	if f.paused {
		f.client.ResumeFetchTopics(f.topics...)
		f.paused = false
	}
	return f.ledger.room()
}

// dispatchChunk is how many records dispatch queues at once: workers wait
// for the queue's lock, so a 10,000-record poll is handed over in pieces.
const dispatchChunk = 512

// dispatch registers a poll's records in their windows and queues them,
// one partition at a time (kgo returns them grouped by partition).
func (f *fetcher) dispatch(fetches kgo.Fetches) {
	n := fetches.NumRecords()
	if n == 0 {
		return
	}
	// One allocation for the whole poll instead of one per record.
	slab := make([]task, n)
	used := 0
	tasks := make([]*task, 0, min(n, dispatchChunk))
	keys := make([]uint64, 0, min(n, dispatchChunk))
	now := time.Now()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 || f.ledger.failing.Load() {
			return
		}
		ps := f.ledger.part(fp.Topic, fp.Partition)
		recs := fp.Records
		for len(recs) > 0 {
			chunk := recs[:min(len(recs), dispatchChunk-len(tasks))]
			recs = recs[len(chunk):]
			var bytes int64
			started := 0
			ps.mu.Lock()
			for _, r := range chunk {
				if ps.retry && !f.gates.Admit(r, now) {
					// Not due, or behind a record that is not: fetched
					// again once the gate opens. Nothing after it in this
					// partition may start before it.
					recs = nil
					break
				}
				if err := ps.window.Start(r.Offset); err != nil {
					ps.mu.Unlock()
					f.ledger.fail(fmt.Errorf("processor %s: %s/%d: %w", f.name, r.Topic, r.Partition, err))
					return
				}
				if r.Attrs.IsControl() {
					// A transaction marker: nothing to process, but the
					// commit must move past it, or a transactionally
					// written partition (dlq replay) would show a lag of
					// one forever.
					_ = ps.window.Finish(r.Offset)
					continue
				}
				t := &slab[used]
				used++
				t.rec, t.part, t.offset, t.epoch, t.size = r, ps, r.Offset, r.LeaderEpoch, int64(len(r.Key)+len(r.Value))
				t.out.t = t
				bytes += t.size
				started++
				tasks = append(tasks, t)
				keys = append(keys, f.orderingKey(ps, r))
			}
			ps.inflight += started
			ps.mu.Unlock()
			ps.consumed += started
			f.ledger.started(started, bytes)
			if len(tasks) >= dispatchChunk {
				f.queue.PushAll(keys, tasks)
				tasks, keys = tasks[:0], keys[:0]
			}
		}
		if ps.consumed > 0 {
			ps.m.consumed.Add(float64(ps.consumed))
			ps.consumed = 0
		}
	})
	if len(tasks) > 0 {
		f.queue.PushAll(keys, tasks)
	}
}

// keySeed seeds the hash of record keys into scheduler keys.
var keySeed = maphash.MakeSeed()

// orderingKey returns the scheduler key of r: records with equal keys run in
// order. Keys include the partition's id, so equal record keys in different
// partitions or input topics never wait for each other.
func (f *fetcher) orderingKey(ps *partState, r *kgo.Record) uint64 {
	const ordered = 1 << 63 // never schedule.Unordered
	switch f.ordering {
	case Unordered:
		return schedule.Unordered
	case PartitionOrder:
		// Consecutive ids: distinct partitions get distinct lanes.
		return ordered | ps.id
	default:
		// The multiplication spreads the id over the low bits, which
		// pick the lane.
		return ordered | (maphash.Bytes(keySeed, r.Key) ^ ps.id*0x9E3779B97F4A7C15)
	}
}
