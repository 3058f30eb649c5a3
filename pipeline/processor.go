package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// Processor consumes its input topics in a consumer group, runs a Handler on
// every record on a pool of workers, produces the handler's outputs and
// commits offsets. See the package documentation for the life of a record.
//
// Guarantees: at-least-once. A committed offset never passes a record that is
// not finished, so a crash, a rebalance or a kill loses nothing; records after
// the last commit may be processed again.
type Processor struct {
	cfg     config
	handler Handler // with its middleware
	metrics *metrics
	ran     atomic.Bool
}

// New returns a processor named name (used for the default consumer group,
// logs and metrics) that runs handler on every record. It validates every
// option (see the Option docs for the rules) and registers the metrics; on
// error nothing stays registered.
func New(name string, handler Handler, opts ...Option) (*Processor, error) {
	cfg := defaultConfig(name)
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(handler); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.name, cfg.registerer, cfg.workers, cfg.latencyBuckets)
	if err != nil {
		return nil, fmt.Errorf("processor %s: metrics: %w", name, err)
	}
	// The built-in middleware wraps the user's: a panic anywhere inside is
	// recovered, and classified after recovery.
	mw := []Middleware{}
	if cfg.panicsRetryable {
		mw = append(mw, panicsAsRetryable)
	}
	mw = append(mw, recoverPanics(m.panics))
	mw = append(mw, cfg.middleware...)
	if cfg.handlerTimeout > 0 {
		mw = append(mw, timeout(cfg.handlerTimeout))
	}
	return &Processor{cfg: cfg, handler: wrap(handler, mw...), metrics: m}, nil
}

// Run consumes until ctx is cancelled or a record fails in a way the
// failure path does not absorb (StopOnError, an ErrorHandler error, an
// output the broker refused).
//
// On cancellation it stops fetching and finishes the records already
// fetched, waiting up to DrainTimeout; handlers keep their context during
// the drain, and it is cancelled when the drain timeout expires. Then it
// commits, leaves the group and returns nil, within DrainTimeout plus
// ShutdownMargin even if a handler never returns (that record stays
// uncommitted for the next owner). On failure it returns a *RecordError (or
// an error wrapping ErrProduce) after committing what is safe.
//
// In exactly-once mode, a transaction that does not end cleanly (its end
// failed, or the broker aborted it for outliving the transaction timeout
// while outputs waited on a lost broker) makes Run restart its Kafka
// client, which resumes from the offsets the broker committed; after 5
// such restarts within 10 minutes it returns the next such error instead.
//
// The handlers' context carries ctx's values. The metrics are unregistered
// when Run returns. A Processor runs once; create a new one (with the same
// registry, if you like) to run again.
func (p *Processor) Run(ctx context.Context) error {
	if !p.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("processor %s: Run called twice; create a new Processor to run again", p.cfg.name)
	}
	defer p.metrics.unregister()
	log := p.cfg.logger.With("processor", p.cfg.name)
	var restarts []time.Time
	for {
		err := p.session(ctx, log)
		if !errors.Is(err, errTxnReset) {
			return err
		}
		// A few restarts get through a broker outage; more than that in
		// a short while is a loop that a restart does not fix.
		for len(restarts) > 0 && time.Since(restarts[0]) > restartWindow {
			restarts = restarts[1:]
		}
		if len(restarts) >= maxRestarts && ctx.Err() == nil {
			err = fmt.Errorf("%w (again after %d client restarts within %s)", err, len(restarts), restartWindow)
			log.Error("stopped", "err", err)
			return err
		}
		restarts = append(restarts, time.Now())
		if ctx.Err() != nil {
			// Stopping anyway: what the aborted transaction held stays
			// uncommitted for the next owner.
			log.Warn("the last transaction was aborted", "err", err)
			log.Info("stopped")
			return nil
		}
		// The records since the last commit were aborted with the
		// transaction; a new client (same transactional and instance
		// ID, a new producer epoch) takes the partitions back and runs
		// them again.
		p.metrics.clientRestarts.Inc()
		log.Warn("restarting the Kafka client with a new producer epoch; it resumes from the committed offsets", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// session runs one Kafka client until ctx ends or the processor fails.
func (p *Processor) session(ctx context.Context, log *slog.Logger) error {
	cfg := &p.cfg
	routes := retry.NewRoutes(cfg.topics, cfg.retryDelays, cfg.deadLetterTopic)
	subscribed := routes.Consumed()
	queue := schedule.New(min(max(2*cfg.maxRecords, 1<<10), 1<<16), queueLink)
	ledger := newLedger(cfg, p.metrics, routes)
	inflight := ledger.inflight
	p.metrics.inflightOf.Store(&inflight)
	committer := &committer{interval: cfg.commitInterval, log: log, ledger: ledger, metrics: p.metrics, metaMax: cfg.metadataMaxBytes}
	rebal := &rebalancer{revokeTimeout: cfg.revokeTimeout, log: log, ledger: ledger, queue: queue, committer: committer, metrics: p.metrics,
		group: cfg.group, transactional: cfg.exactlyOnce}
	if cfg.onError == nil {
		// Before joining the group: a retry or dead-letter topic created
		// after the join would be found by a later metadata refresh and
		// cost a rebalance per topic, with the input's fetching held up
		// meanwhile (the first second of a new processor's records were
		// its slowest).
		if err := p.checkTopics(ctx, routes, log); err != nil {
			if ctx.Err() != nil {
				return nil // cancelled while starting: a clean stop
			}
			return err
		}
	}
	var cl *kgo.Client
	var sess *kgo.GroupTransactSession
	var err error
	if cfg.exactlyOnce {
		sess, err = kgo.NewGroupTransactSession(p.clientOptions(subscribed, rebal)...)
		if sess != nil {
			cl = sess.Client()
		}
	} else {
		cl, err = kgo.NewClient(p.clientOptions(subscribed, rebal)...)
	}
	if err != nil {
		return fmt.Errorf("processor %s: kafka client: %w", cfg.name, err)
	}
	committer.client = cl
	gates := retry.NewGates(cl)
	router := retry.NewRouter(routes, cfg.name, cfg.keyOrderedRetries && cfg.ordering == KeyOrder && cfg.onError == nil, cfg.connectHeaders)
	rebal.gates, rebal.router = gates, router
	var txn *transactor
	var gate *txnGate
	if sess != nil {
		gate = &txnGate{metaMax: cfg.metadataMaxBytes, holds: p.metrics.metadataHolds}
		txn = &transactor{interval: cfg.commitInterval, log: log, sess: sess, ledger: ledger, queue: queue, router: router,
			metrics: p.metrics, metaMax: cfg.metadataMaxBytes, gate: gate}
		rebal.gate, ledger.gate = gate, gate
	}
	guarantee := "at-least-once"
	if txn != nil {
		guarantee = "exactly-once"
		if err := txn.begin(); err != nil {
			cl.Close()
			return fmt.Errorf("processor %s: begin transaction: %w", cfg.name, err)
		}
	}
	log.Info("starting", "group", cfg.group, "topics", cfg.topics, "ordering", cfg.ordering.String(), "workers", cfg.workers,
		"guarantee", guarantee, "instance_id", cfg.instanceID)

	exec := &executor{
		name: cfg.name, log: log, handler: p.handler, onError: cfg.onError, router: router,
		concurrentOutputs: cfg.concurrentOutputs, gate: gate, client: cl, queue: queue, batches: make([]schedule.Batch[*task], cfg.workers),
		ledger: ledger, metrics: p.metrics,
	}
	exec.spread = newSpread(cfg.workers, exec)
	go exec.spread.watch()
	defer exec.spread.close()
	exec.promise = exec.onProduced
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	var workers sync.WaitGroup
	for i := range cfg.workers {
		workers.Add(1)
		go func() { defer workers.Done(); exec.work(handlerCtx, i) }()
	}
	commitCtx, stopCommits := context.WithCancel(context.Background())
	commitsDone := make(chan struct{})
	if txn == nil {
		go func() { defer close(commitsDone); committer.loop(commitCtx) }()
	} else {
		close(commitsDone) // transactions end on the fetcher's goroutine
	}

	pollCtx, stopPolling := context.WithCancel(ctx)
	go func() {
		select {
		case <-ledger.fatalCh:
			stopPolling()
		case <-pollCtx.Done():
		}
	}()
	f := &fetcher{name: cfg.name, ordering: cfg.ordering, log: log, client: cl, topics: subscribed, ledger: ledger, queue: queue, gates: gates, metrics: p.metrics, instanceID: cfg.instanceID,
		txn: txn, metaMax: cfg.metadataMaxBytes}
	f.loop(pollCtx)
	stopPolling()
	cl.AllowRebalance() // in case the last poll returned while being cancelled

	// Stop fetching: nothing new enters; then finish what is here.
	cl.PauseFetchTopics(subscribed...)
	gates.OpenAll()
	fatal := ledger.fatalErr()
	if fatal != nil {
		// Queued records behind a failure are not started: the failed
		// record must stay first in line for whoever processes it next.
		dropQueued(queue, ledger, func(*task) bool { return true })
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.drainTimeout)
	drained := ledger.waitFor(drainCtx, func() bool { return ledger.inflight() == 0 })
	cancel()
	if !drained {
		log.Warn("drain timed out; cancelling handlers, unfinished records stay uncommitted", "inflight", ledger.inflight(), "timeout", cfg.drainTimeout)
		dropQueued(queue, ledger, func(*task) bool { return true })
		cancelHandlers()
		rebal.noWait.Store(true) // a revoke in Close must not wait for them again
	}
	queue.Close()
	exec.spread.close()
	if !waitTimeout(&workers, ShutdownMargin/5) {
		log.Warn("handlers still running after their context was cancelled; returning without them")
	}
	stopCommits()
	<-commitsDone

	flushTimeout := 10 * time.Second
	if !drained {
		flushTimeout = ShutdownMargin / 5
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	if err := cl.Flush(flushCtx); err != nil {
		log.Warn("flush", "err", err)
	}
	cancel()
	commitCtx, cancel = context.WithTimeout(context.Background(), ShutdownMargin/5)
	if txn != nil {
		if fatal == nil {
			txn.end(commitCtx, true)
		} else {
			// A failed processor aborts: its last transaction may hold
			// outputs of the record that failed it.
			_, _ = sess.End(commitCtx, kgo.TryAbort)
		}
	} else if err := committer.commitAll(commitCtx); err != nil {
		log.Error("final commit", "err", err)
		if fatal == nil {
			fatal = err
		}
	}
	cancel()
	leaveCtx, cancel := context.WithTimeout(context.Background(), ShutdownMargin/5)
	rebal.noWait.Store(true)
	_ = cl.LeaveGroupContext(leaveCtx) // runs onRevoked, which commits again: a no-op by now
	cancel()
	cl.Close()
	if errors.Is(fatal, errTxnReset) {
		return fatal
	}
	if fatal != nil {
		log.Error("stopped", "err", fatal)
		return fatal
	}
	log.Info("stopped")
	return nil
}

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *Processor) clientOptions(subscribed []string, rebal *rebalancer) []kgo.Opt {
	cfg := &p.cfg
	opts := []kgo.Opt{
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ClientID("sluice-" + cfg.name),
		// Workers produce one record at a time from many goroutines; a
		// short linger lets those records share batches (Kafka 4's Java
		// producer default is 5ms as well).
		kgo.ProducerLinger(5 * time.Millisecond),
		// Outputs exist only for in-flight records, which MaxInFlight
		// already bounds; kgo's default 10,000-record buffer would make
		// workers block in Produce long before that.
		kgo.MaxBufferedRecords(max(100_000, 4*cfg.maxRecords)),
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
	}
	if cfg.exactlyOnce {
		// A transaction lasts about CommitInterval; the broker aborts one
		// that outlives this (a frozen instance's, or one whose outputs
		// wait on a lost broker: the processor then restarts its client).
		opts = append(opts, kgo.TransactionTimeout(max(10*time.Second, 10*cfg.commitInterval)))
	}
	opts = append(opts, cfg.clientOpts...)
	if cfg.exactlyOnce {
		opts = append(opts, kgo.TransactionalID(cfg.txnID()))
	}
	if cfg.registerer != nil {
		// franz-go's own client metrics (connections, request latency,
		// bytes, errors per broker), beside the processor's; kprom
		// unregisters them when the client closes.
		opts = append(opts, kgo.WithHooks(newClientMetrics("sluice_kgo", cfg.registerer, prometheus.Labels{"processor": cfg.name})))
	}
	opts = append(opts, kgo.ConsumerGroup(cfg.group))
	if cfg.instanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.instanceID))
	}
	return append(opts,
		kgo.ConsumeTopics(subscribed...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// Rebalance callbacks then run only between the fetcher's
		// dispatch rounds, never while a polled batch is half registered.
		kgo.BlockRebalanceOnPoll(),
		// Transaction markers come to dispatch, which finishes them at
		// once so commits move past them.
		kgo.KeepControlRecords(),
		kgo.OnPartitionsAssigned(rebal.onAssigned),
		kgo.OnPartitionsRevoked(rebal.onRevoked),
		kgo.OnPartitionsLost(rebal.onLost),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
}

// checkTopics runs the topic check (topics.go) on a client of its own,
// which joins no group.
func (p *Processor) checkTopics(ctx context.Context, routes *retry.Routes, log *slog.Logger) error {
	cfg := &p.cfg
	cl, err := kgo.NewClient(cfg.clientOpts...)
	if err != nil {
		return fmt.Errorf("processor %s: kafka client: %w", cfg.name, err)
	}
	defer cl.Close()
	check := &topicCheck{name: cfg.name, inputs: cfg.topics, create: cfg.createTopics, routes: routes, log: log}
	return check.check(ctx, cl)
}

// transactionalID returns the exactly-once producer's transactional ID.
func (c *config) txnID() string {
	if c.transactionalID != "" {
		return c.transactionalID
	}
	suffix := c.instanceID
	if suffix == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		suffix = hex.EncodeToString(b[:])
	}
	return "sluice-" + c.group + "-" + suffix
}
