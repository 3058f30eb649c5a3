package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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
	// instanceID is the static member id, for the fencing error.
	instanceID string
	// txn ends transactions between polls in exactly-once mode; nil in
	// at-least-once mode.
	txn *transactor
	// metaMax is the broker's offset.metadata.max.bytes; held holds the
	// partitions paused until their commit metadata has room again.
	metaMax int
	held    map[*partState]bool
}

// loop polls and dispatches until ctx ends or the processor fails.
func (f *fetcher) loop(ctx context.Context) {
	for ctx.Err() == nil && !f.ledger.failing.Load() {
		if f.txn != nil && f.txn.due(time.Now()) {
			f.txn.end(ctx, false)
		}
		f.release()
		room := f.waitForRoom(ctx)
		if ctx.Err() != nil || f.ledger.failing.Load() {
			return
		}
		if room <= 0 {
			continue // a transaction is due: ending it frees its parked records
		}
		// Polls return by the time the next transaction or held-back
		// partition needs this goroutine.
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if f.txn != nil {
			pollCtx, cancel = context.WithDeadline(ctx, f.txn.next)
		} else if len(f.held) > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
		}
		fetches := f.client.PollRecords(pollCtx, room)
		cancel()
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return // the poll's own deadline
			}
			if errors.Is(err, kerr.FencedInstanceID) {
				f.ledger.fail(fmt.Errorf("processor %s: %w (%s: %w): give every instance its own instance ID", f.name, ErrInstanceFenced, f.instanceID, err))
				return
			}
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
// many records may be polled: 0 if ctx ended or, in exactly-once mode, the
// transaction is due first. Parked records count against the caps until
// the transaction ends, and only this goroutine ends it, so waiting past
// that would wait forever.
func (f *fetcher) waitForRoom(ctx context.Context) int {
	notFull := func() bool { return f.ledger.hasRoom() || f.ledger.failing.Load() }
	if f.txn != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, f.txn.next)
		defer cancel()
	}
	if f.ledger.full() {
		graceCtx, cancel := context.WithTimeout(ctx, pauseAfter)
		roomSoon := f.ledger.waitFor(graceCtx, notFull)
		cancel()
		if !roomSoon && ctx.Err() == nil {
			if !f.paused {
				f.client.PauseFetchTopics(f.topics...)
				f.paused = true
				f.metrics.backpressure.Inc()
			}
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
		grow := len(recs)
		for len(recs) > 0 {
			chunk := recs[:min(len(recs), dispatchChunk-len(tasks))]
			recs = recs[len(chunk):]
			var bytes int64
			started, skipped := 0, 0
			ps.mu.Lock()
			if grow > 0 {
				ps.growLocked(grow) // the whole fetch's, once
				grow = 0
			}
			for _, r := range chunk {
				if ps.retry && !f.gates.Admit(r, now) {
					// Not due, or behind a record that is not: fetched
					// again once the gate opens. Nothing after it in this
					// partition may start before it.
					recs = nil
					break
				}
				if ps.holdLocked(f.metaMax, false) {
					// The commit metadata could outgrow the broker's
					// limit: hold the partition back here until records
					// finish (see release).
					f.hold(ps, r.Offset)
					recs = nil
					break
				}
				if err := ps.startLocked(r.Offset); err != nil {
					ps.mu.Unlock()
					f.ledger.fail(fmt.Errorf("processor %s: %s/%d: %w", f.name, r.Topic, r.Partition, err))
					return
				}
				if r.Attrs.IsControl() || ps.skip.Contains(r.Offset) {
					if !r.Attrs.IsControl() {
						skipped++
					}
					// A transaction marker, or a record an earlier owner
					// finished (its commit metadata says so): nothing to
					// process, but the commit must move past it.
					// Without it a transactionally written partition
					// would show a lag of one forever.
					ps.finishUnclaimedLocked(r.Offset)
					continue
				}
				t := &slab[used]
				used++
				t.rec, t.part, t.offset, t.epoch, t.size = r, ps, r.Offset, r.LeaderEpoch, int32(len(r.Key)+len(r.Value))
				bytes += int64(t.size)
				started++
				tasks = append(tasks, t)
				keys = append(keys, f.orderingKey(ps, r))
			}
			ps.inflight += started
			ps.mu.Unlock()
			if skipped > 0 {
				f.metrics.skipped.Add(float64(skipped))
			}
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

// hold pauses ps and rewinds it to offset, which is fetched again once
// release finds room. The caller holds ps.mu and is dispatch, before
// AllowRebalance, where rewinding is safe.
func (f *fetcher) hold(ps *partState, offset int64) {
	if f.held == nil {
		f.held = map[*partState]bool{}
	}
	tp := map[string][]int32{ps.tp.topic: {ps.tp.partition}}
	f.client.PauseFetchPartitions(tp)
	f.client.SetOffsets(map[string]map[int32]kgo.EpochOffset{ps.tp.topic: {ps.tp.partition: {Epoch: -1, Offset: offset}}})
	if !f.held[ps] {
		f.metrics.metadataHolds.Inc()
		f.log.Debug("holding a partition back: its commit metadata is near the broker's limit", "topic", ps.tp.topic, "partition", ps.tp.partition, "limit", f.metaMax)
	}
	f.held[ps] = true
}

// release resumes the held partitions that have room again, and forgets
// those no longer owned.
func (f *fetcher) release() {
	for ps := range f.held {
		ps.mu.Lock()
		gone, room := ps.revoked, !ps.holdLocked(f.metaMax, true)
		ps.mu.Unlock()
		if gone || room {
			// Resumed even when gone: pausing outlives the assignment
			// in kgo, and the partition may come back to this client.
			delete(f.held, ps)
			f.client.ResumeFetchPartitions(map[string][]int32{ps.tp.topic: {ps.tp.partition}})
		}
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
