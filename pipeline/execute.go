package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// executor runs queued records on a pool of workers: the handler (wrapped
// in its middleware), then the outputs, or the failure path. A record is
// settled in the ledger once the broker acknowledged every output (finish),
// or, if it cannot be, left unfinished (abandon).
type executor struct {
	name              string
	log               *slog.Logger
	handler           Handler // with its middleware
	onError           ErrorHandler
	router            *retry.Router
	panicsRetryable   bool
	concurrentOutputs bool
	// gate is the transaction gate in exactly-once mode; nil otherwise.
	gate   *txnGate
	client *kgo.Client
	// promise is onProduced as a func value, made once: a method value
	// made at each Produce call is an allocation per output record.
	promise func(*kgo.Record, error)
	queue   *schedule.Queue[*task]
	// batches is per worker the records it took from queue.
	batches []schedule.Batch[*task]
	spread  *spread
	ledger  *ledger
	metrics *metrics
	// lastTopic and lastProduced are producedTo's, e2e picks the records
	// the end-to-end histogram times: the promises' own.
	lastTopic    string
	lastProduced prometheus.Counter
	e2e          sampler
}

// yieldAfter is how long a worker runs handlers before it yields its P.
// Profiling the order chain's score stage (2 cores shared with the broker
// and the loader, key mode, 2,000 orders/s) found its client goroutines
// queued behind two workers running the model back to back: a local run
// queue of 43 goroutines in GODEBUG=schedtrace, 7.5% of CPU in
// asyncPreempt against 0.9% in partition mode (where workers idle more),
// and acknowledgements, hence commits and the next stage, late by whole
// preemption slices. Yielding costs ~100 ns, nothing next to a handler
// that ran this long, and fast handlers never reach it.
const yieldAfter = 500 * time.Microsecond

// workerBatch is how many runnable records a worker takes at once; taking
// several saves scheduler round trips when handlers are fast.
const workerBatch = 64

// work runs queued records until the queue closes; id picks the worker's
// metric shards and batch. ctx is the handlers' context.
func (e *executor) work(ctx context.Context, id int) {
	b := &e.batches[id]
	var r run
	for {
		if !e.spread.wait(id) {
			return
		}
		if !e.queue.Fill(b, workerBatch, e.spread.active()) {
			return
		}
		// Two clock reads per batch, and one per timed record (see
		// sampler): clock reads are not free on every VM (see monoNow).
		ran := monoNow()
		e.spread.started(id, ran)
		r.handled, r.timed = 0, 0
		n := 0
		// Take, not a range over the batch: while a handler hangs, the
		// watcher hands the records after it to the other workers (see
		// spread).
		for t, ok := b.Take(); ok; t, ok = b.Take() {
			n++
			if e.ledger.failing.Load() || ctx.Err() != nil {
				// After a failure nothing else starts: a later record of
				// the failed key must not overtake it.
				t.abandon(e.ledger)
				continue
			}
			r.load(t)
			e.runTask(ctx, id, t, &r)
			if r.sample.last-ran >= yieldAfter {
				// CPU-bound handlers on every P starve the client's
				// goroutines (fetch responses, produce requests,
				// acknowledgements) until the scheduler preempts a worker,
				// 10 ms later; handing the P over after each long stretch
				// lets them run at once (see yieldAfter). Slow handlers
				// are timed one by one, so the stretch is seen.
				runtime.Gosched()
				ran = r.sample.last
			}
		}
		// Keys are released after the whole batch: a key's next record
		// waits a little longer, but the queue lock is taken once. Records
		// of one key in the batch came in order and ran in order above.
		e.queue.Finish(b)
		r.idle()
		e.spread.ran(id, monoNow(), n, r.timed, r.handled)
	}
}

// progress and steal are what the spread's watcher needs of the workers'
// batches (see stealer). A steal is a stalled handler, which an operator
// sees in handler_stalls_total even when nothing was behind it.
func (e *executor) progress(id int) uint64 { return e.batches[id].Progress() }
func (e *executor) steal(id int) int {
	e.metrics.stalls.Inc()
	return e.queue.Steal(&e.batches[id])
}

// runTask runs t's handler and hands the outputs to the producer. The key
// is released after runTask returns, once the outputs were handed over in
// order, so the next record of the key produces after this one.
func (e *executor) runTask(ctx context.Context, worker int, t *task, r *run) {
	ts := r.in.Timestamp
	if e.router.Parking() && e.router.Park(r.attempt(t), time.Now(), func(kr *kgo.Record) { e.produceOne(t, ts, kr) }) {
		if !t.part.retry {
			e.metrics.parked.Inc()
		}
		return
	}
	s := &r.sample
	timed := s.next()
	var start time.Duration
	if timed {
		start = monoNow()
	}
	outs, err := e.handler(ctx, &r.in)
	if timed {
		end := monoNow()
		e.metrics.handlerSeconds.observe(worker, (end - start).Seconds(), s.timed(end))
		r.handled += end - start
		r.timed++
	}
	if err == nil {
		e.produce(t, ts, outs)
		if t.part.retry {
			e.router.Succeeded(r.attempt(t))
		}
		return
	}
	if ctx.Err() != nil {
		// The handler was cancelled by shutdown (the drain timed out): not
		// the record's fault, so it is neither retried nor dead-lettered
		// but left uncommitted for the next owner.
		t.abandon(e.ledger)
		return
	}
	t.part.m.failed.Inc()
	if e.onError == nil {
		e.route(t, r, err)
		return
	}
	outs, err = e.onError(ctx, &r.in, err)
	if err != nil {
		in := &r.in
		t.abandonFailed(e.ledger, &RecordError{ProcessorName: e.name, Topic: in.Topic, Partition: in.Partition, Offset: in.Offset, Err: err})
		return
	}
	e.produce(t, ts, outs)
}

// route sends a failed record down the failure path: its next retry tier or
// the dead-letter topic.
func (e *executor) route(t *task, r *run, cause error) {
	class := ClassOf(cause)
	a := r.attempt(t)
	in := &r.in
	ts := in.Timestamp
	var to string
	tier := e.router.Failed(a, cause, class.String(), class == Retryable, time.Now(), func(kr *kgo.Record) {
		to = kr.Topic
		e.produceOne(t, ts, kr)
	})
	if tier >= 0 {
		e.metrics.retried.WithLabelValues(a.Input).Inc()
	} else {
		e.metrics.deadLettered.WithLabelValues(a.Input).Inc()
	}
	if e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.Debug("routed a failed record", "topic", in.Topic, "partition", in.Partition, "offset", in.Offset,
			"class", class.String(), "attempt", a.Attempts+1, "to", to, "dead_lettered", tier < 0, "err", cause)
	}
}

// produceOne produces a single record built elsewhere (the failure path)
// as t's only output, with t's record's timestamp ts.
func (e *executor) produceOne(t *task, ts time.Time, kr *kgo.Record) {
	kr.Timestamp, kr.Context = ts, t
	e.emit(t, unsafe.Slice(kr, 1))
}

// produce hands t's outputs to the producer; t finishes when the broker
// acknowledged all of them (at once if there are none). Unless
// ConcurrentOutputs is set, each output is produced only once the one
// before it is acknowledged, so whoever reads output i+1 can rely on
// output i being in Kafka already.
func (e *executor) produce(t *task, ts time.Time, outs []Output) {
	if len(outs) == 0 {
		if e.gate != nil {
			// Finished in the transaction like any other record, so it
			// is claimed in the commit metadata like one.
			e.emit(t, nil)
			return
		}
		t.finish(e.ledger)
		return
	}
	var krs []kgo.Record
	if len(outs) == 1 {
		krs = unsafe.Slice(t.rec, 1) // the fetched record is not needed any more
	} else {
		krs = make([]kgo.Record, len(outs))
	}
	for i, o := range outs {
		krs[i] = kgo.Record{Topic: o.Topic, Key: o.Key, Value: o.Value, Headers: toKgoHeaders(o.Headers), Timestamp: ts, Context: t}
	}
	e.emit(t, krs)
}

// emit produces t's output records, in exactly-once mode once the
// transaction gate admits t (at once, or later from a parked state).
func (e *executor) emit(t *task, krs []kgo.Record) {
	if len(krs) > 1 {
		// Counted down by the promises. A single output needs no count
		// (pending stays 0): storing it anyway was ~40 ns per record, a
		// write to a task that had gone cold in the queue.
		t.pending.Store(int32(len(krs)))
	}
	ordered := len(krs) > 1 && !e.concurrentOutputs
	if ordered {
		t.rec, t.chainLen = &krs[0], int32(len(krs))
	}
	if e.gate != nil {
		switch e.gate.admit(t.part, t.offset) {
		case stale:
			t.abandon(e.ledger)
			return
		case mustPark:
			e.gate.park(t.part, parkedOutputs{
				offset: t.offset,
				send: func() {
					t.inTxn = true
					e.send(t, krs, ordered)
				},
				drop: func() { t.abandon(e.ledger) },
			})
			return
		}
		t.inTxn = true
	}
	e.send(t, krs, ordered)
}

// send hands t's output records to the client: all at once, or, ordered,
// the first (onProduced sends the next once it is acknowledged). A record
// without outputs (exactly-once mode) finishes here.
func (e *executor) send(t *task, krs []kgo.Record, ordered bool) {
	if len(krs) == 0 {
		t.finish(e.ledger)
		return
	}
	if ordered {
		e.client.Produce(context.Background(), &krs[0], e.promise)
		return
	}
	for i := range krs {
		e.client.Produce(context.Background(), &krs[i], e.promise)
	}
}

// producedTo is metrics.producedTo with the last topic remembered: outputs
// mostly go to one topic, and the map lookup was ~25 ns per record. Only
// promises call it, and kgo calls promises serially.
func (e *executor) producedTo(topic string) prometheus.Counter {
	if topic != e.lastTopic || e.lastProduced == nil {
		e.lastTopic, e.lastProduced = topic, e.metrics.producedTo(topic)
	}
	return e.lastProduced
}

// onProduced is the promise of every output record.
func (e *executor) onProduced(kr *kgo.Record, err error) {
	t := taskOf(kr)
	if err != nil && e.gate != nil && e.gate.absorbs(err) {
		if !t.failed.Swap(true) {
			t.abandon(e.ledger)
		}
		return
	}
	if err != nil {
		t.abandonFailed(e.ledger, fmt.Errorf("processor %s: output of %s/%d@%d to %s: %w: %w",
			e.name, t.part.tp.topic, t.part.tp.partition, t.offset, kr.Topic, ErrProduce, err))
		return
	}
	e.producedTo(kr.Topic).Inc()
	var left int32 // a single output is the last (see emit)
	if t.pending.Load() != 0 {
		left = t.pending.Add(-1)
	}
	switch {
	case t.failed.Load():
	case left == 0:
		if e.e2e.next() {
			now := monoNow()
			e.metrics.e2eSeconds.observe(0, float64(wallAt(now)-kr.Timestamp.UnixNano())/1e9, e.e2e.timed(now))
		}
		t.finish(e.ledger)
	case t.chainLen > 0:
		// The next output of an ordered chain. Promises must not block on
		// the client, so produce from a goroutine.
		next := t.chained(int(t.chainLen - left))
		go e.client.Produce(context.Background(), next, e.promise)
	}
}

func toKgoHeaders(hs []Header) []kgo.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]kgo.RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
	}
	return out
}
