package pipeline

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/sluice-dev/sluice/pipeline/internal/offsets"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// Processor consumes its input topics in a consumer group, runs a Handler on
// every record on a pool of workers, produces the handler's outputs and
// commits offsets.
//
// The life of a record:
//   - fetched by the poll loop (Run's goroutine), registered in its
//     partition's offset window and queued by ordering key;
//   - run by a worker (runTask), which produces the outputs;
//   - finished (finish) once the broker acknowledged every output; only then
//     may the committer (commitLoop) move the partition's committed offset
//     past it, and only over a contiguous run of finished records.
//
// Guarantees: at-least-once. A committed offset never passes a record that is
// not finished, so a crash, a rebalance or a kill loses nothing; records after
// the last commit may be processed again.
type Processor struct {
	cfg     config
	handler Handler
	metrics *metrics
	queue   *schedule.Queue[*task]

	client *kgo.Client
	routes retryRoutes

	// retryMu guards paths: per input key, the records in the retry path
	// in order (see parkOrForward).
	retryMu sync.Mutex
	paths   map[pathKey][]pathEntry

	// commitMu serializes commits with rebalance callbacks, so a periodic
	// commit can never land for a partition after its revoke finished.
	commitMu sync.Mutex

	// mu guards everything below; cond signals changes of in-flight counts.
	mu       sync.Mutex
	cond     *sync.Cond
	parts    map[topicPartition]*partState
	partIDs  uint64 // partState ids handed out so far
	inflight int    // records fetched and not settled
	inBytes  int64  // their key+value bytes
	fatal    error  // first error that stops the processor
	fatalCh  chan struct{}
	failing  atomic.Bool // set with fatal, read without mu by workers
}

type topicPartition struct {
	topic     string
	partition int32
}

// partState is the bookkeeping of one assigned partition. A new partState is
// made on every assignment, so completions of records fetched under an older
// assignment are recognized (task.part differs) and ignored.
type partState struct {
	tp            topicPartition
	id            uint64 // unique per assignment: gives the partition its own scheduler keys
	m             topicCounters
	window        *offsets.Window
	inflight      int   // tasks started and not settled
	committed     int64 // last committed offset, -1 if none by us
	epoch         int32 // leader epoch of the newest finished record
	revoked       bool
	highWatermark int64       // latest seen in a fetch response, for the lag gauge
	gate          *time.Timer // set while a retry partition waits for a record to be due
	retry         bool        // the partition is of a retry tier; retryRef says which
	retryRef      tierRef
	consumed      int // dispatched records not yet added to the metric (owned by the poll loop)
}

// task is one fetched record on its way through the processor. It is kept
// small: up to MaxInFlight of them are alive at once, and every byte of them
// is allocated, written and scanned by the garbage collector per record.
//
// A task doubles as the context.Context of its output records (see the
// methods below), so the produce promise, one function for all records,
// finds its task without a closure allocated per output.
type task struct {
	// rec is the fetched record until its handler ran; then its storage
	// holds the first output record (see produce), so the common one
	// output per record needs no allocation. What is needed of the fetched
	// record after that is copied below.
	rec  *kgo.Record
	part *partState
	// The worker's scratch space for this record, set only while a worker
	// runs it (see worker); nil while the task is queued or producing.
	*attempt
	chain   []kgo.Record // outputs produced one after the other, if ordered
	offset  int64
	size    int64        // key+value bytes, counted against MaxInFlight's byte cap
	epoch   int32        // leader epoch
	pending atomic.Int32 // outputs not yet acknowledged
	failed  atomic.Bool
}

// attempt is what a worker needs while it runs one record: the Record the
// handler sees and, for a record read back from a retry tier, where it came
// from. Each worker reuses one attempt for all its records, which is why a
// Handler must not keep the Record after it returns.
type attempt struct {
	in      Record
	headers []Header // storage behind in.Headers

	// Retry path: input is the input topic the record belongs to; tier is
	// the retry tier it was read from (-1: the input itself).
	input        string
	tier         int
	firstFailure time.Time
	parked       bool
}

// load resets a for running r as read, before any retry-tier rewriting
// (fromRetryTopic).
func (a *attempt) load(r *kgo.Record) {
	a.headers = a.headers[:0]
	for _, h := range r.Headers {
		a.headers = append(a.headers, Header{Key: h.Key, Value: h.Value})
	}
	var hs []Header
	if len(a.headers) > 0 {
		hs = a.headers
	}
	a.in = Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Headers: hs, Timestamp: r.Timestamp}
	a.input, a.tier, a.firstFailure, a.parked = r.Topic, -1, time.Time{}, false
}

// A task is the never-ending, value-less context of its output records.
func (*task) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*task) Done() <-chan struct{}       { return nil }
func (*task) Err() error                  { return nil }
func (*task) Value(any) any               { return nil }

// New returns a processor named name (used for the default consumer group,
// logs and metrics) that runs handler on every record.
func New(name string, handler Handler, opts ...Option) (*Processor, error) {
	cfg := defaultConfig(name)
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf("processor %s: nil handler", name)
	}
	p := &Processor{
		routes:  newRetryRoutes(&cfg),
		paths:   make(map[pathKey][]pathEntry),
		cfg:     cfg,
		handler: handler,
		queue:   schedule.New[*task](min(max(2*cfg.maxRecords, 1<<10), 1<<16)),
		parts:   make(map[topicPartition]*partState),
		fatalCh: make(chan struct{}),
	}
	p.cond = sync.NewCond(&p.mu)
	m, err := newMetrics(cfg.name, cfg.registerer, cfg.workers, func() float64 { return float64(p.inflightNow()) })
	if err != nil {
		return nil, fmt.Errorf("processor %s: metrics: %w", name, err)
	}
	p.metrics = m
	return p, nil
}

func (p *Processor) clientOptions() []kgo.Opt {
	opts := append([]kgo.Opt{
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ClientID("sluice-" + p.cfg.name),
		// Workers produce one record at a time from many goroutines; a
		// short linger lets those records share batches (Kafka 4's Java
		// producer default is 5ms as well).
		kgo.ProducerLinger(5 * time.Millisecond),
		// Outputs exist only for in-flight records, which MaxInFlight
		// already bounds; kgo's default 10,000-record buffer would make
		// workers block in Produce long before that.
		kgo.MaxBufferedRecords(max(100_000, 4*p.cfg.maxRecords)),
		// franz-go decodes a whole fetch response when it arrives and keeps
		// it until every record of it was polled, and each record pins
		// its fetch's memory until it is finished. The limits are on
		// compressed bytes: with the defaults (1 MiB per partition, 50 MiB
		// per fetch) a backlog of compressible records had about 140 MiB
		// decoded and waiting behind a slow handler, and 512 KiB still
		// peaked at 250 MiB (BenchmarkBacklogMemory). 256 KiB keeps it to a
		// few MiB per partition; against Kafka it cost a passthrough
		// processor about 9% of its rate. Raise them with ClientOptions
		// when records compress little and memory is plentiful.
		kgo.FetchMaxPartitionBytes(256 << 10),
		kgo.FetchMaxBytes(16 << 20),
		// A partition resumed after a retry gate joins the next fetch
		// request; kgo's 5s default long poll would delay it that long.
		// 500ms is the Java consumer's default.
		kgo.FetchMaxWait(500 * time.Millisecond),
		// Never process records of aborted transactions (dlq replay writes
		// transactionally); costs nothing when nobody does.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}, p.cfg.clientOpts...)
	if p.cfg.registerer != nil {
		// franz-go's own client metrics (connections, request latency,
		// bytes, errors per broker), beside the processor's.
		opts = append(opts, kgo.WithHooks(kprom.NewMetrics("sluice_kgo",
			kprom.Registerer(p.cfg.registerer),
			kprom.WithStaticLabel(prometheus.Labels{"processor": p.cfg.name}))))
	}
	return append(opts,
		kgo.ConsumerGroup(p.cfg.group),
		kgo.ConsumeTopics(p.routes.consumed(p.cfg.topics)...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// Rebalance callbacks then run only between our dispatch rounds,
		// never while a polled batch is half registered.
		kgo.BlockRebalanceOnPoll(),
		// Transaction markers come to dispatch, which finishes them at
		// once so commits move past them (see dispatch).
		kgo.KeepControlRecords(),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onLost),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
}

// Run consumes until ctx is cancelled or a record fails in a way the
// ErrorHandler does not absorb. On cancellation it stops fetching, finishes
// the records already fetched (bounded by DrainTimeout), commits and leaves
// the group, and returns nil. On failure it returns a *RecordError (or a
// produce error wrapping ErrProduce) after committing what is safe.
//
// A Processor runs once; create a new one to run again.
func (p *Processor) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(p.clientOptions()...)
	if err != nil {
		return fmt.Errorf("processor %s: kafka client: %w", p.cfg.name, err)
	}
	p.client = cl
	log := p.cfg.logger.With("processor", p.cfg.name)
	if p.cfg.onError == nil {
		if err := p.ensureTopics(ctx); err != nil {
			cl.Close()
			if ctx.Err() != nil {
				return nil // cancelled while starting: a clean stop
			}
			return err
		}
	}
	log.Info("starting", "group", p.cfg.group, "topics", p.cfg.topics, "ordering", p.cfg.ordering.String(), "workers", p.cfg.workers)

	var wg sync.WaitGroup
	for i := 0; i < p.cfg.workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); p.worker(i) }()
	}
	commitCtx, stopCommits := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); p.commitLoop(commitCtx) }()

	pollCtx, stopPolling := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.fatalCh:
			stopPolling()
		case <-pollCtx.Done():
		}
	}()
	p.pollLoop(pollCtx)
	stopPolling()
	cl.AllowRebalance() // in case the last poll returned while being cancelled

	// Stop fetching: nothing new enters; then finish what is here.
	cl.PauseFetchTopics(p.routes.consumed(p.cfg.topics)...)
	p.mu.Lock()
	for _, ps := range p.parts {
		p.ungateLocked(ps)
	}
	p.mu.Unlock()
	fatal := p.fatalErr()
	if fatal != nil {
		// Queued records behind a failure are not started: the failed
		// record must stay first in line for whoever processes it next.
		p.dropQueued(func(*task) bool { return true })
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), p.cfg.drainTimeout)
	if !p.waitFor(drainCtx, func() bool { return p.inflight == 0 }) {
		log.Warn("drain timed out; unfinished records stay uncommitted", "inflight", p.inflightNow())
	}
	cancel()
	stopCommits()
	p.queue.Close()
	wg.Wait()

	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := cl.Flush(flushCtx); err != nil {
		log.Warn("flush", "err", err)
	}
	cancel()
	if err := p.commitAll(context.Background()); err != nil {
		log.Error("final commit", "err", err)
		if fatal == nil {
			fatal = err
		}
	}
	cl.Close() // leaves the group; onRevoked commits again, a no-op by now
	if fatal != nil {
		log.Error("stopped", "err", fatal)
		return fatal
	}
	log.Info("stopped")
	return nil
}

// pollLoop owns fetching: it polls at most as many records as the in-flight
// cap leaves room for, registers them, and lets rebalances run in between.
func (p *Processor) pollLoop(ctx context.Context) {
	paused := false
	for ctx.Err() == nil {
		room := p.waitForRoom(ctx, &paused)
		if room <= 0 {
			return
		}
		fetches := p.client.PollRecords(ctx, room)
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if ctx.Err() == nil {
				p.cfg.logger.Warn("fetch error", "processor", p.cfg.name, "topic", topic, "partition", partition, "err", err)
			}
		})
		p.noteHighWatermarks(fetches)
		p.dispatch(fetches.Records())
		p.client.AllowRebalance()
	}
}

// noteHighWatermarks keeps each owned partition's high watermark from the
// fetch responses, for the lag gauge.
func (p *Processor) noteHighWatermarks(fs kgo.Fetches) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if ps := p.parts[topicPartition{fp.Topic, fp.Partition}]; ps != nil && fp.HighWatermark > ps.highWatermark {
			ps.highWatermark = fp.HighWatermark
		}
	})
}

// waitForRoom blocks while the in-flight caps are reached and returns how
// many records may be polled (0 if ctx ended). Not polling already stops
// kgo from fetching more than one buffered fetch per broker; if the caps
// stay reached past pauseAfter (a slow handler, not a burst), it also
// pauses fetching, which drops kgo's buffered fetch. Pausing at once on
// every burst would throw that buffer away and refetch it many times over.
func (p *Processor) waitForRoom(ctx context.Context, paused *bool) int {
	const pauseAfter = 200 * time.Millisecond
	full := func() bool { return p.inflight >= p.cfg.maxRecords || p.inBytes >= p.cfg.maxBytes }
	p.mu.Lock()
	isFull := full()
	p.mu.Unlock()
	if isFull {
		graceCtx, cancel := context.WithTimeout(ctx, pauseAfter)
		roomSoon := p.waitFor(graceCtx, func() bool { return !full() })
		cancel()
		if !roomSoon && ctx.Err() == nil {
			p.client.PauseFetchTopics(p.routes.consumed(p.cfg.topics)...)
			*paused = true
			p.metrics.backpressure.Inc()
			p.waitFor(ctx, func() bool { return !full() })
		}
	}
	p.mu.Lock()
	room := p.cfg.maxRecords - p.inflight
	p.mu.Unlock()
	if ctx.Err() != nil {
		return 0
	}
	if *paused {
		p.client.ResumeFetchTopics(p.routes.consumed(p.cfg.topics)...)
		*paused = false
	}
	return room
}

// dispatchChunk is how many records dispatch registers and queues per lock
// hold: workers and produce acknowledgements wait for those locks, so a
// 10,000-record poll is handed over in pieces rather than at once.
const dispatchChunk = 512

// dispatch registers a polled batch in the offset windows and queues it.
func (p *Processor) dispatch(recs []*kgo.Record) {
	// One allocation for the whole batch instead of one per record.
	slab := make([]task, len(recs))
	used := 0
	tasks := make([]*task, 0, min(len(recs), dispatchChunk))
	keys := make([]uint64, 0, min(len(recs), dispatchChunk))
	var ps *partState
	var touched []*partState
	failed := false
	for start := 0; start < len(recs) && !failed; start += dispatchChunk {
		tasks, keys = tasks[:0], keys[:0]
		p.mu.Lock()
		for _, r := range recs[start:min(start+dispatchChunk, len(recs))] {
			// Polled records come grouped by partition: look the state
			// up only when the partition changes.
			if ps == nil || ps.tp.partition != r.Partition || ps.tp.topic != r.Topic {
				tp := topicPartition{r.Topic, r.Partition}
				if ps = p.parts[tp]; ps == nil {
					ps = p.newPartState(tp)
					p.parts[tp] = ps
				}
				touched = append(touched, ps)
			}
			if ps.retry {
				if ps.gate != nil {
					continue // behind a record that is not due: fetched again later
				}
				if due := retryDue(r); time.Until(due) > 0 {
					p.gateLocked(ps, r, due)
					continue
				}
			}
			if err := ps.window.Start(r.Offset); err != nil {
				p.failLocked(fmt.Errorf("processor %s: %s/%d: %w", p.cfg.name, r.Topic, r.Partition, err))
				failed = true
				break
			}
			if r.Attrs.IsControl() {
				// A transaction marker: nothing to process, but the
				// commit must move past it, or a transactionally written
				// partition (dlq replay) would show a lag of one forever.
				_ = ps.window.Finish(r.Offset)
				continue
			}
			t := &slab[used]
			used++
			t.rec, t.part, t.offset, t.epoch, t.size = r, ps, r.Offset, r.LeaderEpoch, int64(len(r.Key)+len(r.Value))
			ps.inflight++
			p.inflight++
			p.inBytes += t.size
			ps.consumed++
			tasks = append(tasks, t)
			keys = append(keys, p.orderingKey(ps, r))
		}
		p.mu.Unlock()
		p.queue.PushAll(keys, tasks)
	}
	// The poll loop owns ps.consumed; the metric is added to once per
	// partition and batch.
	for _, ps := range touched {
		if ps.consumed > 0 {
			ps.m.consumed.Add(float64(ps.consumed))
			ps.consumed = 0
		}
	}
}

// keySeed seeds the hash of record keys into scheduler keys.
var keySeed = maphash.MakeSeed()

// orderingKey returns the scheduler key of r: records with equal keys run in
// order. Keys include the partition's id, so equal record keys in different
// partitions or input topics never wait for each other.
func (p *Processor) orderingKey(ps *partState, r *kgo.Record) uint64 {
	const ordered = 1 << 63 // never schedule.Unordered
	switch p.cfg.ordering {
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

// newPartState returns the state of a newly owned partition. The caller
// holds mu.
func (p *Processor) newPartState(tp topicPartition) *partState {
	ref, retry := p.routes.of[tp.topic]
	p.partIDs++
	return &partState{
		id:        p.partIDs,
		retry:     retry,
		retryRef:  ref,
		tp:        tp,
		m:         p.metrics.forTopic(tp.topic),
		window:    offsets.NewWindow(),
		committed: -1,
		epoch:     -1,
	}
}

// workerBatch is how many runnable records a worker takes at once; taking
// several saves scheduler round trips when handlers are fast.
const workerBatch = 64

// worker runs queued records; id picks its metric shards.
func (p *Processor) worker(id int) {
	tickets := make([]schedule.Ticket, 0, workerBatch)
	tasks := make([]*task, 0, workerBatch)
	var a attempt
	for {
		var ok bool
		tickets, tasks, ok = p.queue.NextBatch(workerBatch, p.cfg.workers, tickets[:0], tasks[:0])
		if !ok {
			return
		}
		// One clock read per record: each handler's end is the next
		// one's start (clock reads are not free on every VM).
		now := time.Now()
		for _, t := range tasks {
			if p.failing.Load() {
				// After a failure nothing else starts: a later record of
				// the failed key must not overtake it.
				p.mu.Lock()
				p.settleLocked(t)
				p.mu.Unlock()
			} else {
				t.attempt = &a
				a.load(t.rec)
				if t.part.retry {
					t.fromRetryTopic(t.part.retryRef)
				}
				now = p.runTask(id, t, now)
				t.attempt = nil
			}
		}
		// Keys are released after the whole batch: a key's next record
		// waits a little longer, but the queue lock is taken once.
		p.queue.DoneAll(tickets)
	}
}

// runTask runs the handler, started at start, and hands its outputs to the
// producer; it returns when the handler ended. The key is released after
// runTask returns, once the outputs were handed over in order, so the next
// record of the key produces after this one.
func (p *Processor) runTask(worker int, t *task, start time.Time) (end time.Time) {
	if p.keyOrderedRetries() && p.parkOrForward(t) {
		return start
	}
	ctx := context.Background()
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if p.cfg.handlerTimeout > 0 {
		hctx, cancel = context.WithTimeout(ctx, p.cfg.handlerTimeout)
	}
	outs, err := p.callHandler(hctx, &t.in)
	if err != nil && hctx.Err() != nil && ctx.Err() == nil {
		err = MarkRetryable(fmt.Errorf("handler timed out after %s: %w", p.cfg.handlerTimeout, err))
	}
	cancel()
	end = time.Now()
	p.metrics.handlerSeconds.observe(worker, end.Sub(start).Seconds())
	p.metrics.e2eSeconds.observe(worker, end.Sub(t.in.Timestamp).Seconds())
	if err == nil {
		p.produce(t, outs)
		if t.tier >= 0 && p.keyOrderedRetries() {
			p.leavePath(t)
		}
		return end
	}
	t.part.m.failed.Inc()
	if p.cfg.onError == nil {
		p.route(t, err)
		return end
	}
	outs, err = p.cfg.onError(ctx, &t.in, err)
	if err != nil {
		p.settleFailed(t, &RecordError{Processor: p.cfg.name, Topic: t.in.Topic, Partition: t.in.Partition, Offset: t.in.Offset, Err: err})
		return end
	}
	p.produce(t, outs)
	return end
}

// produce hands t's outputs to the producer; t finishes when the broker
// acknowledged all of them (at once if there are none). Unless
// ConcurrentOutputs is set, each output is produced only once the one
// before it is acknowledged, so whoever reads output i+1 can rely on
// output i being in Kafka already.
func (p *Processor) produce(t *task, outs []Output) {
	if len(outs) == 0 {
		p.finish(t)
		return
	}
	t.pending.Store(int32(len(outs)))
	var krs []kgo.Record
	if len(outs) == 1 {
		krs = unsafe.Slice(t.rec, 1) // the fetched record is not needed any more
	} else {
		krs = make([]kgo.Record, len(outs))
	}
	for i, o := range outs {
		krs[i] = kgo.Record{Topic: o.Topic, Key: o.Key, Value: o.Value, Headers: toKgoHeaders(o.Headers), Timestamp: t.in.Timestamp, Context: t}
	}
	if len(krs) == 1 || p.cfg.concurrentOutputs {
		for i := range krs {
			p.client.Produce(context.Background(), &krs[i], p.onProduced)
		}
		return
	}
	t.chain = krs
	p.client.Produce(context.Background(), &krs[0], p.onProduced)
}

// onProduced is the promise of every output record: the record's Context is
// its task.
func (p *Processor) onProduced(kr *kgo.Record, err error) {
	t := kr.Context.(*task)
	if err != nil {
		p.settleFailed(t, fmt.Errorf("processor %s: output of %s/%d@%d to %s: %w: %w",
			p.cfg.name, t.part.tp.topic, t.part.tp.partition, t.offset, kr.Topic, ErrProduce, err))
		return
	}
	p.metrics.producedTo(kr.Topic).Inc()
	left := t.pending.Add(-1)
	switch {
	case t.failed.Load():
	case left == 0:
		p.finish(t)
	case t.chain != nil:
		// The next output of an ordered chain. Promises must not block on
		// the client, so produce from a goroutine.
		next := &t.chain[len(t.chain)-int(left)]
		go p.client.Produce(context.Background(), next, p.onProduced)
	}
}

func (p *Processor) callHandler(ctx context.Context, rec *Record) (outs []Output, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.metrics.panics.Inc()
			outs, err = nil, &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return p.handler(ctx, rec)
}

// finish marks a task done: its offset may now be committed.
func (p *Processor) finish(t *task) {
	t.part.m.succeeded.Inc()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !t.part.revoked { // revoked also means no longer in p.parts
		if err := t.part.window.Finish(t.offset); err != nil {
			p.failLocked(fmt.Errorf("processor %s: %s/%d: %w", p.cfg.name, t.part.tp.topic, t.part.tp.partition, err))
		}
		if t.epoch > t.part.epoch {
			t.part.epoch = t.epoch
		}
	}
	p.settleLocked(t)
}

// settleFailed releases a task that failed without finishing it: its offset
// stays uncommitted, and the processor stops.
func (p *Processor) settleFailed(t *task, err error) {
	if t.failed.Swap(true) {
		return // another output of the same task failed first
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLocked(err)
	p.settleLocked(t)
}

func (p *Processor) settleLocked(t *task) {
	t.part.inflight--
	p.inflight--
	p.inBytes -= t.size
	p.cond.Broadcast()
}

func (p *Processor) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLocked(err)
}

func (p *Processor) failLocked(err error) {
	if p.fatal == nil {
		p.fatal = err
		p.failing.Store(true)
		close(p.fatalCh)
		p.cond.Broadcast()
	}
}

func (p *Processor) fatalErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fatal
}

func (p *Processor) inflightNow() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// waitFor blocks until cond holds (checked under mu) or ctx ends, and
// reports whether cond held.
func (p *Processor) waitFor(ctx context.Context, cond func() bool) bool {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !cond() {
		if ctx.Err() != nil {
			return false
		}
		p.cond.Wait()
	}
	return true
}

// dropQueued removes queued (not started) tasks that match and settles them
// without finishing: they stay uncommitted for the next owner.
func (p *Processor) dropQueued(match func(*task) bool) int {
	dropped := p.queue.Drop(match)
	p.mu.Lock()
	for _, t := range dropped {
		p.settleLocked(t)
	}
	p.mu.Unlock()
	return len(dropped)
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
