package pipeline

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/failure"
	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// task is one fetched record on its way through the processor: made by the
// fetcher, run by the executor, settled in the ledger. It is kept small: up
// to MaxInFlight of them are alive at once, and every byte of them is
// allocated, written and scanned by the garbage collector per record. It
// is 64 bytes, one cache line: at 88, with the worker's run, the chain and
// the gate in fields of their own, the slabs dispatch allocates were 19%
// of what a passthrough processor allocated on 480 partitions.
type task struct {
	// rec is the fetched record until its handler ran; then its storage
	// holds the first output record (see executor.produce), so the common
	// one output per record needs no allocation, or rec is the first of
	// chainLen outputs produced one after the other (emit). What is needed
	// of the fetched record after that is copied below.
	rec    *kgo.Record
	part   *partState
	offset int64
	epoch  int32 // leader epoch
	// size is key+value bytes, counted against MaxInFlight's byte cap; a
	// record is far below 2 GiB (the broker's limit is an int32 too).
	size     int32
	pending  atomic.Int32
	chainLen int32 // 0 unless rec is an ordered chain of outputs
	failed   atomic.Bool
	// inTxn says t was admitted through the ledger's transaction gate
	// (exactly-once mode) before producing, and leaves it when it settles.
	inTxn bool
	// queued is the scheduler's: where t waits behind its key.
	queued schedule.Link[*task]
}

// queueLink returns t's storage in the scheduler (schedule.New).
func queueLink(t *task) *schedule.Link[*task] { return &t.queued }

// A task is the Context of its output records: the produce promise, one
// function for every record, finds the task through it without a closure
// allocated per output. As a context it never ends and holds no values.
func (*task) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*task) Done() <-chan struct{}       { return nil }
func (*task) Err() error                  { return nil }
func (*task) Value(any) any               { return nil }

var _ context.Context = (*task)(nil)

// taskOf returns the task of an output record.
func taskOf(kr *kgo.Record) *task { return kr.Context.(*task) }

// chained returns output i of t's ordered chain.
func (t *task) chained(i int) *kgo.Record { return &unsafe.Slice(t.rec, t.chainLen)[i] }

// run is what a worker needs while it runs one record: the Record the
// handler sees and the record's place on the failure path. Each worker
// reuses one run for all its records, which is why a Handler must not keep
// the Record after it returns.
type run struct {
	in      Record
	headers []Header // storage behind in.Headers
	retry   retry.Attempt
	// described says whether retry describes the current record. For a
	// record of an input it is made only when the failure path needs it
	// (attempt): it is some 200 bytes, and writing it for every record
	// was ~20 ns of a passthrough processor's.
	described bool
	// sample picks the worker's records the handler histogram times.
	sample sampler
	// handled is the time the timed handlers of the worker's current
	// batch took, timed how many there were (see spread).
	handled time.Duration
	timed   int
}

// load resets r for running t's record: as read from an input, or, from a
// retry tier, as it was first read (origin, attempts, its own headers).
func (r *run) load(t *task) {
	kr := t.rec
	hs, attempts := kr.Headers, 0
	origin := failure.Origin{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Timestamp: kr.Timestamp}
	r.described = t.part.retry
	if t.part.retry {
		r.retry = retry.FromTier(kr, t.part.tier)
		hs, origin, attempts = r.retry.Headers, r.retry.Origin, r.retry.Attempts
	}
	r.headers = r.headers[:0]
	for _, h := range hs {
		r.headers = append(r.headers, Header{Key: h.Key, Value: h.Value})
	}
	var in []Header
	if len(r.headers) > 0 {
		in = r.headers
	}
	// The output storage stays (see Record.Outputs); idle empties it.
	r.in = Record{Topic: origin.Topic, Partition: origin.Partition, Offset: origin.Offset, Key: kr.Key, Value: kr.Value,
		Headers: in, Timestamp: origin.Timestamp, Attempt: attempts, outs: r.in.outs[:0]}
}

// idle drops what r holds of the records it ran, once its worker ran a
// batch: the last record, and what its handlers returned (Record.Outputs'
// storage, in full: a record that returned fewer outputs than the one
// before left the rest), would keep their fetched batches from the garbage
// collector while the worker waits. Once per batch, not per record: a
// record's outputs are overwritten by the next one's, and clearing them
// each time was ~10 ns of a passthrough processor's record.
func (r *run) idle() {
	outs := r.in.outs
	clear(outs[:cap(outs)])
	r.in = Record{outs: outs[:0]}
	clear(r.headers[:cap(r.headers)])
}

// attempt returns t's record as the failure path sees it; r runs t. For
// an input's record it must first be called before the record's outputs
// are produced: they reuse the fetched record's storage (see
// executor.produce).
func (r *run) attempt(t *task) *retry.Attempt {
	if !r.described {
		r.retry, r.described = retry.FromInput(t.rec), true
	}
	return &r.retry
}

// finish settles t: its record is fully processed.
func (t *task) finish(l *ledger) {
	l.finish(t.part, t.offset, t.epoch, int64(t.size))
	t.leaveTxn(l)
}

// leaveTxn leaves the transaction gate once t is settled, so the
// transaction that holds its outputs can end, and lets parked outputs of
// its partition use the room its finishing made.
func (t *task) leaveTxn(l *ledger) {
	if t.inTxn {
		t.inTxn = false
		l.gate.leave()
		l.gate.drain(t.part)
	}
}

// abandon settles t unfinished: its offset stays uncommitted.
func (t *task) abandon(l *ledger) {
	l.abandon(t.part, int64(t.size))
	t.leaveTxn(l)
}

// abandonFailed settles t, which failed in a way that stops the processor,
// once however many of its outputs failed.
func (t *task) abandonFailed(l *ledger, err error) {
	if t.failed.Swap(true) {
		return // another output of the same task failed first
	}
	l.fail(err)
	t.abandon(l)
}

// dropQueued removes queued (not started) tasks that match from q and
// settles them unfinished: they stay uncommitted for the next owner.
func dropQueued(q *schedule.Queue[*task], l *ledger, match func(*task) bool) int {
	dropped := q.Drop(match)
	for _, t := range dropped {
		t.abandon(l)
	}
	return len(dropped)
}
