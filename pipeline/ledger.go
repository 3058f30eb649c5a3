package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/offsets"
	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/offsetmeta"
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
	// exactlyOnce gives every partition state a claimed window.
	exactlyOnce bool
	// gate is exactly-once mode's transaction gate (nil otherwise), which
	// admitted tasks leave as they settle (task.leaveTxn).
	gate txnLeaver

	// The in-flight counts, kept as what was begun (written by the
	// fetcher, a chunk at a time) and what was settled (by the produce
	// promises, a record at a time), each group on its own cache line, and
	// the read-mostly flags on a third: when they shared one line, every
	// settle took it from the workers reading failing before each record,
	// and the profile showed ~40 ns per record in those few loads and adds.
	_       [64]byte
	begun   tally
	_       [64]byte
	settled tally
	_       [64]byte
	waiters atomic.Int32
	failing atomic.Bool // set with fatal
	_       [64]byte

	mu      sync.Mutex
	parts   map[topicPartition]*partState
	partIDs uint64
	wake    chan struct{} // closed and replaced when something waited for changes
	fatal   error
	fatalCh chan struct{}
}

// tally counts records and their key+value bytes.
type tally struct {
	records atomic.Int64
	bytes   atomic.Int64
}

// inflight returns the records started and not settled. Settles are read
// first: a record is started before it settles, so the result never goes
// below zero.
func (l *ledger) inflight() int64 {
	settled := l.settled.records.Load()
	return l.begun.records.Load() - settled
}

// inflightBytes is inflight for key+value bytes.
func (l *ledger) inflightBytes() int64 {
	settled := l.settled.bytes.Load()
	return l.begun.bytes.Load() - settled
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
	// claimed is, in exactly-once mode (nil otherwise), window with the
	// records admitted to produce in the open transaction counted as
	// finished already: what the commit metadata will name once they
	// settle, which is when the transaction can end (see txnGate).
	claimed *offsets.Window
	parked  []parkedOutputs // outputs waiting for metadata room, by offset (exactly-once)
	// sending is set while a goroutine sends parked outputs, and inSend is
	// the offset of the record it is handing over, -1 between records.
	sending bool
	inSend  int64
	// meta is the offset metadata committed with committed (or found at
	// assignment), and skip the finished offsets above committed it
	// names: a record in skip was processed by an earlier owner and is not
	// processed again (precise resume).
	meta string
	skip offsetmeta.Set
}

// committedAt records a successful commit of offset with meta. The caller
// holds no lock.
func (ps *partState) committedAt(offset int64, meta string, m *metrics) {
	ps.mu.Lock()
	ps.committed, ps.meta = offset, meta
	hw := ps.highWatermark
	ps.mu.Unlock()
	part := fmt.Sprint(ps.tp.partition)
	m.committedOffset.WithLabelValues(ps.tp.topic, part).Set(float64(offset))
	m.lag.WithLabelValues(ps.tp.topic, part).Set(float64(max(0, hw-offset)))
}

// holdLocked reports whether the fetcher should stop starting records of
// ps: its commit metadata has reached half the broker's limit (records
// finish far out of order). Holding lets the records in flight finish and
// the watermark catch up; release waits for a quarter, so a partition near
// the mark is not paused and resumed (and refetched) over and over. The
// caller holds ps.mu.
func (ps *partState) holdLocked(limit int, held bool) bool {
	n := ps.window.MetadataLen()
	if ps.claimed != nil {
		n = max(n, ps.claimed.MetadataLen())
	}
	if held {
		return n >= limit/4
	}
	return n >= limit/2
}

// startLocked registers offset as started. The caller holds ps.mu.
func (ps *partState) startLocked(offset int64) error {
	if err := ps.window.Start(offset); err != nil {
		return err
	}
	if ps.claimed != nil {
		_ = ps.claimed.Start(offset) // the same offsets as window, which took it
	}
	return nil
}

// txnLeaver is what a settling task needs of exactly-once mode's
// transaction gate (txnGate, which builds on the ledger): to leave it, and
// to let parked outputs of its partition use the room it made.
type txnLeaver interface {
	leave()
	drain(ps *partState)
}

// growLocked makes room in ps's windows for n more starts (Window.Grow).
// The caller holds ps.mu.
func (ps *partState) growLocked(n int) {
	ps.window.Grow(n)
	if ps.claimed != nil {
		ps.claimed.Grow(n)
	}
}

// finishUnclaimedLocked finishes a started record that produces nothing
// and needs no admission: a transaction marker, or a record an earlier
// owner finished. The caller holds ps.mu.
func (ps *partState) finishUnclaimedLocked(offset int64) {
	_ = ps.window.Finish(offset)
	if ps.claimed != nil {
		_ = ps.claimed.Finish(offset)
	}
}

// claimLocked admits, in exactly-once mode, the record at offset to
// produce in the open transaction, if the commit metadata can name it as
// finished: a transaction must never carry outputs of a record its commit
// cannot name. It counts the record as finished in claimed, whose exact
// metadata length stays within limit, so the commit that ends the
// transaction (when every admitted record has settled) fits too. The
// record at claimed's watermark always fits (finishing it never lengthens
// the encoding), so a partition always moves on. The caller holds ps.mu.
func (ps *partState) claimLocked(offset int64, limit int) bool {
	n, err := ps.claimed.MetadataLenIfFinished(offset)
	if err != nil || n > limit {
		return false
	}
	_ = ps.claimed.Finish(offset)
	return true
}

// parkedOutputs are a record's outputs waiting for metadata room.
type parkedOutputs struct {
	offset int64
	send   func() // produce them; the gate is held for the record
	drop   func() // settle the record unfinished: its partition state was replaced
}

// partSnapshot is what one partition commits: its watermark, the leader
// epoch of its newest finished record, and the metadata.
type partSnapshot struct {
	ps     *partState
	offset int64
	epoch  int32
	meta   string
}

// snapshot returns what parts would commit now: the partitions whose
// watermark or finished set changed since their last commit.
func snapshot(parts []*partState, metaMax int) (out []partSnapshot, overflow bool) {
	var buf []byte
	for _, ps := range parts {
		ps.mu.Lock()
		off, ok := ps.window.Committable()
		if !ok || ps.revoked {
			ps.mu.Unlock()
			continue
		}
		buf = ps.window.AppendMetadata(buf[:0])
		meta := string(buf)
		if len(meta) > metaMax {
			// In at-least-once mode, when records in flight finished
			// far out of order after the partition was held back:
			// committing the watermark alone records less, so those
			// records run again after a crash; nothing is lost. In
			// exactly-once mode only after a record admitted to the
			// transaction was abandoned (claimed stays within the
			// limit), and the caller aborts instead.
			meta, overflow = "", true
		}
		if off == ps.committed && meta == ps.meta {
			ps.mu.Unlock()
			continue
		}
		out = append(out, partSnapshot{ps: ps, offset: off, epoch: ps.epoch, meta: meta})
		ps.mu.Unlock()
	}
	return out, overflow
}

func newLedger(cfg *config, m *metrics, routes *retry.Routes) *ledger {
	return &ledger{
		name: cfg.name, maxRecords: int64(cfg.maxRecords), maxBytes: cfg.maxBytes, metrics: m, routes: routes, exactlyOnce: cfg.exactlyOnce,
		parts: make(map[topicPartition]*partState), wake: make(chan struct{}), fatalCh: make(chan struct{}),
	}
}

// newPartLocked returns the state of a newly owned partition. The caller
// holds mu.
func (l *ledger) newPartLocked(tp topicPartition) *partState {
	tier, isRetry := l.routes.TierOf(tp.topic)
	l.partIDs++
	var claimed *offsets.Window
	if l.exactlyOnce {
		claimed = offsets.NewWindow()
	}
	return &partState{
		id: l.partIDs, tp: tp, retry: isRetry, tier: tier, m: l.metrics.forTopic(tp.topic),
		window: offsets.NewWindow(), claimed: claimed, committed: -1, epoch: -1, inSend: -1,
	}
}

// groupCommit is a partition's committed offset and metadata as read
// from the group at assignment.
type groupCommit struct {
	at   int64
	meta string
}

// assign starts fresh bookkeeping for newly assigned partitions, with the
// finished offsets the last owner recorded in its commit metadata, and
// returns how many partitions are owned now and how many offsets will be
// skipped.
func (l *ledger) assign(assigned map[string][]int32, committed map[topicPartition]groupCommit) (owned int, skipped int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for topic, parts := range assigned {
		for _, part := range parts {
			tp := topicPartition{topic, part}
			ps := l.newPartLocked(tp)
			if c, ok := committed[tp]; ok {
				ps.meta = c.meta
				ps.skip, _ = offsetmeta.Decode(c.meta, c.at) // undecodable: skip nothing
				skipped += ps.skip.Len()
			}
			l.parts[tp] = ps
		}
	}
	return len(l.parts), skipped
}

// restart replaces the state of parts that are still owned with fresh
// state from their last commit (after an aborted transaction, whose
// outputs are gone: the records since the commit run again, but for those
// the commit's metadata names as finished). It returns the replaced ones;
// their tasks settle into nothing.
func (l *ledger) restart(parts []*partState) map[*partState]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := make(map[*partState]bool, len(parts))
	for _, ps := range parts {
		if l.parts[ps.tp] != ps {
			continue
		}
		ps.mu.Lock()
		ps.revoked = true
		committed, meta, skip := ps.committed, ps.meta, ps.skip
		ps.mu.Unlock()
		fresh := l.newPartLocked(ps.tp)
		fresh.committed, fresh.meta, fresh.skip = committed, meta, skip
		if committed >= 0 {
			fresh.skip, _ = offsetmeta.Decode(meta, committed)
		}
		l.parts[ps.tp] = fresh
		old[ps] = true
	}
	return old
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
	l.begun.records.Add(int64(records))
	l.begun.bytes.Add(bytes)
}

// full reports whether the in-flight caps are reached.
func (l *ledger) full() bool {
	return l.inflight() >= l.maxRecords || l.inflightBytes() >= l.maxBytes
}

// room returns how many records may still be started under the cap.
func (l *ledger) room() int { return int(l.maxRecords - l.inflight()) }

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
	empty := ps.inflight == 0
	ps.mu.Unlock()
	if err != nil {
		l.fail(fmt.Errorf("processor %s: %s/%d: %w", l.name, ps.tp.topic, ps.tp.partition, err))
	}
	l.release(size, empty)
}

// abandon settles a record of ps without finishing it: its offset stays
// uncommitted, for this or the next owner to process again.
func (l *ledger) abandon(ps *partState, size int64) {
	ps.mu.Lock()
	ps.inflight--
	empty := ps.inflight == 0
	ps.mu.Unlock()
	l.release(size, empty)
}

// release takes a settled record off the in-flight counts and wakes the
// waiters if what they wait for may have come: a partition or the whole
// processor with nothing in flight (revoke, drain), or room under the caps
// (hasRoom's low-water marks, crossed now). Waking on every settle would
// cost a lock and a channel per record while the fetcher waits at the cap.
func (l *ledger) release(size int64, partEmpty bool) {
	settled := l.settled.records.Add(1)
	settledBytes := l.settled.bytes.Add(size)
	if l.waiters.Load() == 0 {
		return
	}
	// Only now the started counts: nobody waits for most settles.
	n, b := l.begun.records.Load()-settled, l.begun.bytes.Load()-settledBytes
	recLow, byteLow := l.lowWater()
	if partEmpty || n == 0 || n == recLow || (b <= byteLow && b+size > byteLow) {
		l.notify()
	}
}

// dispatchChunk is how many records dispatch queues at once: workers wait
// for the queue's lock, so a 10,000-record poll is handed over in pieces.
// It is the ledger's: the fetcher's low-water mark is a chunk of room.
const dispatchChunk = 512

// lowWater returns the in-flight counts under which a fetcher waiting at
// the caps polls again: a chunk of room, not a record at a time.
func (l *ledger) lowWater() (records, bytes int64) {
	return l.maxRecords - min(dispatchChunk, max(1, l.maxRecords/4)), l.maxBytes - l.maxBytes/4
}

// hasRoom reports whether the in-flight counts are under the low-water
// marks.
func (l *ledger) hasRoom() bool {
	recLow, byteLow := l.lowWater()
	return l.inflight() <= recLow && l.inflightBytes() <= byteLow
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
