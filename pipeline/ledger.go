package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/offsets"
	"github.com/sluice-dev/sluice/pipeline/internal/retry"
)

// ledger is the bookkeeping every part of the processor shares: the owned
// partitions with their offset windows, the in-flight counts the caps are
// checked against, and the first error that stops the processor. The
// fetcher starts records in it, the executor settles them, the committer
// reads what is safe to commit; it calls none of them.
//
// Locking: mu guards parts, partIDs, fatal and wake; each partState has its
// own mu for its window and counts, so settling records of different
// partitions never contends. In-flight totals are atomics. Waiters (the
// fetcher at the caps, a revoke, the drain) register in waiters, and only
// then does a settle pay for a wake-up.
type ledger struct {
	name       string
	maxRecords int64
	maxBytes   int64
	metrics    *metrics
	routes     *retry.Routes

	inflight atomic.Int64 // records started and not settled
	inBytes  atomic.Int64 // their key+value bytes
	waiters  atomic.Int32
	failing  atomic.Bool // set with fatal

	mu      sync.Mutex
	parts   map[topicPartition]*partState
	partIDs uint64
	wake    chan struct{} // closed and replaced when something waited for changes
	fatal   error
	fatalCh chan struct{}
}

type topicPartition struct {
	topic     string
	partition int32
}

// partState is the bookkeeping of one assigned partition. A new partState is
// made on every assignment, so completions of records fetched under an older
// assignment are recognized (task.part differs) and ignored.
type partState struct {
	tp    topicPartition
	id    uint64 // unique per assignment: gives the partition its own scheduler keys
	m     topicCounters
	retry bool       // the partition is of a retry tier; tier says which
	tier  retry.Tier // set when retry
	// consumed counts dispatched records not yet added to the metric; the
	// fetcher owns it.
	consumed int

	mu            sync.Mutex
	window        *offsets.Window
	inflight      int   // tasks started and not settled
	committed     int64 // last committed offset, -1 if none by us
	epoch         int32 // leader epoch of the newest finished record
	revoked       bool
	highWatermark int64 // latest seen in a fetch response, for the lag gauge
}

func newLedger(cfg *config, m *metrics, routes *retry.Routes) *ledger {
	return &ledger{
		name: cfg.name, maxRecords: int64(cfg.maxRecords), maxBytes: cfg.maxBytes, metrics: m, routes: routes,
		parts: make(map[topicPartition]*partState), wake: make(chan struct{}), fatalCh: make(chan struct{}),
	}
}

// newPartLocked returns the state of a newly owned partition. The caller
// holds mu.
func (l *ledger) newPartLocked(tp topicPartition) *partState {
	tier, isRetry := l.routes.TierOf(tp.topic)
	l.partIDs++
	return &partState{
		id: l.partIDs, tp: tp, retry: isRetry, tier: tier, m: l.metrics.forTopic(tp.topic),
		window: offsets.NewWindow(), committed: -1, epoch: -1,
	}
}

// assign starts fresh bookkeeping for newly assigned partitions and returns
// how many partitions are owned now.
func (l *ledger) assign(assigned map[string][]int32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for topic, parts := range assigned {
		for _, part := range parts {
			tp := topicPartition{topic, part}
			l.parts[tp] = l.newPartLocked(tp)
		}
	}
	return len(l.parts)
}

// part returns the state of an owned partition, making one for a partition
// that records arrived for before its assignment was seen.
func (l *ledger) part(topic string, partition int32) *partState {
	tp := topicPartition{topic, partition}
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.parts[tp]
	if ps == nil {
		ps = l.newPartLocked(tp)
		l.parts[tp] = ps
	}
	return ps
}

// lookup returns the partitions of parts that are owned.
func (l *ledger) lookup(parts map[string][]int32) map[*partState]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	found := make(map[*partState]bool)
	for topic, ps := range parts {
		for _, part := range ps {
			if st := l.parts[topicPartition{topic, part}]; st != nil {
				found[st] = true
			}
		}
	}
	return found
}

// owned returns the owned partitions.
func (l *ledger) owned() []*partState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*partState, 0, len(l.parts))
	for _, ps := range l.parts {
		out = append(out, ps)
	}
	return out
}

// forget drops revoked partitions; records of theirs that settle later
// are ignored. It returns how many partitions are owned now.
func (l *ledger) forget(gone map[*partState]bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ps := range gone {
		ps.mu.Lock()
		ps.revoked = true
		ps.mu.Unlock()
		if l.parts[ps.tp] == ps {
			delete(l.parts, ps.tp)
		}
	}
	return len(l.parts)
}

// noteHighWatermarks keeps each owned partition's high watermark from the
// fetch responses, for the lag gauge.
func (l *ledger) noteHighWatermarks(fs kgo.Fetches) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if ps := l.parts[topicPartition{fp.Topic, fp.Partition}]; ps != nil {
			ps.mu.Lock()
			ps.highWatermark = max(ps.highWatermark, fp.HighWatermark)
			ps.mu.Unlock()
		}
	})
}

// started counts records the fetcher started (registered in their windows
// under ps.mu) against the caps.
func (l *ledger) started(records int, bytes int64) {
	l.inflight.Add(int64(records))
	l.inBytes.Add(bytes)
}

// full reports whether the in-flight caps are reached.
func (l *ledger) full() bool {
	return l.inflight.Load() >= l.maxRecords || l.inBytes.Load() >= l.maxBytes
}

// room returns how many records may still be started under the cap.
func (l *ledger) room() int { return int(l.maxRecords - l.inflight.Load()) }

// finish settles a record of ps whose processing is complete: its offset
// may now be committed.
func (l *ledger) finish(ps *partState, offset int64, epoch int32, size int64) {
	ps.m.succeeded.Inc()
	ps.mu.Lock()
	var err error
	if !ps.revoked {
		if err = ps.window.Finish(offset); err == nil && epoch > ps.epoch {
			ps.epoch = epoch
		}
	}
	ps.inflight--
	ps.mu.Unlock()
	if err != nil {
		l.fail(fmt.Errorf("processor %s: %s/%d: %w", l.name, ps.tp.topic, ps.tp.partition, err))
	}
	l.release(size)
}

// abandon settles a record of ps without finishing it: its offset stays
// uncommitted, for this or the next owner to process again.
func (l *ledger) abandon(ps *partState, size int64) {
	ps.mu.Lock()
	ps.inflight--
	ps.mu.Unlock()
	l.release(size)
}

func (l *ledger) release(size int64) {
	l.inflight.Add(-1)
	l.inBytes.Add(-size)
	if l.waiters.Load() > 0 {
		l.notify()
	}
}

// notify wakes every waitFor.
func (l *ledger) notify() {
	l.mu.Lock()
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// waitFor blocks until cond holds or ctx ends, and reports whether cond
// held. cond is checked after every settle, so it must be cheap; it takes
// whatever locks it needs itself.
func (l *ledger) waitFor(ctx context.Context, cond func() bool) bool {
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		l.mu.Lock()
		wake := l.wake
		l.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return cond()
		}
	}
}

// fail records the first error that stops the processor.
func (l *ledger) fail(err error) {
	l.mu.Lock()
	if l.fatal == nil {
		l.fatal = err
		l.failing.Store(true)
		close(l.fatalCh)
	}
	l.mu.Unlock()
	l.notify()
}

func (l *ledger) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}
