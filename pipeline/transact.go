package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// transactor commits in exactly-once mode: every CommitInterval it ends the
// current Kafka transaction, which holds the outputs, retry-tier and
// dead-letter records produced since the last one and, atomically with
// them, the input offsets: per partition the watermark and, in the offset
// metadata, the finished records above it. Then it begins the next.
//
// Workers keep running handlers across transactions; only producing
// pauses while a transaction ends (see txnGate): every record with outputs
// in the ending transaction is finished, and recorded as such in the
// committed offsets, when the transaction commits. A record is never
// committed as finished without its outputs, nor its outputs without it.
//
// end runs on the fetcher's goroutine between polls: kgo forbids polling
// while a transaction ends, and a rebalance then cannot interleave.
type transactor struct {
	interval time.Duration
	log      *slog.Logger
	sess     *kgo.GroupTransactSession
	ledger   *ledger
	queue    *schedule.Queue[*task]
	router   *retry.Router
	metrics  *metrics
	metaMax  int

	gate *txnGate
	next time.Time // when the current transaction is due to end
	// open is set when an end was cut short by shutdown: the transaction
	// may still hold outputs the commit does not name, so the last end
	// aborts it.
	open bool
}

// begin starts the first transaction.
func (x *transactor) begin() error {
	x.next = time.Now().Add(x.interval)
	return x.sess.Begin()
}

// due reports whether the current transaction should end.
func (x *transactor) due(now time.Time) bool { return !now.Before(x.next) }

// end ends the current transaction: with a commit, unless a rebalance or
// a fenced or failed session forces an abort. After an abort every owned
// partition restarts from its last committed state. Unless last, it begins
// the next transaction.
func (x *transactor) end(ctx context.Context, last bool) {
	// Ending waits for every output of the transaction to be acknowledged
	// and for the transaction coordinator; when that takes long (a broker
	// lost, leadership moving), say so instead of going quiet.
	slow := time.AfterFunc(endSlowAfter, func() {
		x.log.Warn("a transaction is taking long to end: waiting for output acknowledgements and the transaction coordinator", "waited", endSlowAfter)
	})
	defer slow.Stop()
	endCtx := ctx
	if !last {
		// A shutdown that comes while a transaction ends lets the end
		// finish, for a while: cut short, kgo leaves the transaction
		// open, and records still draining would have none to produce
		// into.
		var cancel context.CancelFunc
		endCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		defer context.AfterFunc(ctx, func() { time.AfterFunc(ShutdownMargin/5, cancel) })()
	}
	x.gate.mu.Lock()
	parts := x.ledger.owned()
	defer func() {
		x.gate.mu.Unlock()
		for _, ps := range x.ledger.owned() {
			x.gate.drain(ps)
		}
	}()
	snap, overflow := snapshot(parts, x.metaMax)
	start := time.Now()
	rewrite := func(req *kmsg.TxnOffsetCommitRequest) error {
		rewriteTxnCommit(req, snap)
		return nil
	}
	how := kgo.TryCommit
	if x.open {
		how = kgo.TryAbort
	}
	if x.gate.abort.Swap(false) {
		// An output failed with the transaction (not the record): its
		// record settled unfinished, and committing would skip it.
		how = kgo.TryAbort
	}
	if overflow {
		// A record admitted to this transaction was abandoned, and the
		// finished set no longer fits the commit metadata: committing
		// without it would let a next owner redo records whose outputs
		// this transaction holds.
		how = kgo.TryAbort
		x.log.Warn("aborting the transaction: its commit metadata would exceed the broker's offset.metadata.max.bytes", "limit", x.metaMax)
	}
	committed, err := x.sess.End(kgo.PreTxnCommitFnContext(endCtx, rewrite), how)
	x.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	switch {
	case committed:
		x.metrics.commits.Inc()
		for _, s := range snap {
			s.ps.committedAt(s.offset, s.meta, x.metrics)
		}
		x.log.Debug("transaction committed", "partitions", len(snap), "took", time.Since(start))
	default:
		x.metrics.commitFailures.Inc()
		x.metrics.aborts.Inc()
		dropped := x.ledger.restart(parts)
		x.router.Forget()
		for ps := range dropped {
			x.gate.dropParked(ps)
		}
		n := dropQueued(x.queue, x.ledger, func(t *task) bool { return dropped[t.part] })
		x.log.Info("transaction aborted; processing again from the last commit", "err", err, "dropped_queued", n)
	}
	if err != nil && isFatalTxnErr(err) {
		x.gate.closed = true // no transaction follows
		x.ledger.fail(fmt.Errorf("processor %s: transaction: %w", x.ledger.name, err))
		return
	}
	reset := x.gate.reset.Swap(false)
	if last {
		if err != nil {
			x.log.Warn("ending the last transaction", "err", err)
		}
		return
	}
	if endCtx.Err() != nil {
		// Shutdown cut the end short (kgo leaves the transaction open
		// when its flush is cancelled): the last end, on a context of
		// its own, aborts it, and until then nothing more is produced
		// (records still running settle unfinished).
		x.open = !committed
		x.gate.closed = true
		return
	}
	if reset || err != nil {
		// The producer was fenced, or the end failed and the outcome is
		// not known (a commit may have gone through): only the broker's
		// committed offsets say where to resume, and a new client reads
		// them.
		x.gate.closed = true
		cause := err
		if reset {
			cause = errors.Join(err, errStaleEpoch)
		}
		x.ledger.fail(fmt.Errorf("processor %s: %w: %w", x.ledger.name, errTxnReset, cause))
		return
	}
	x.next = time.Now().Add(x.interval)
	if err := x.sess.Begin(); err != nil {
		x.gate.closed = true
		x.ledger.fail(fmt.Errorf("processor %s: begin transaction: %w: %w", x.ledger.name, errTxnReset, err))
	}
}

// A processor stops rather than restart its client again after
// maxRestarts restarts within restartWindow.
const (
	maxRestarts   = 5
	restartWindow = 10 * time.Minute
)

// errTxnReset marks a session that cannot go on with its client but can
// with a new one, which resumes from the offsets the broker committed: a
// transaction's end failed, so its outcome is not known here, or the
// producer was fenced, typically because the transaction coordinator
// aborted a transaction that outlived the transaction timeout (outputs
// stuck while a broker was lost, say), which under Kafka's transaction
// protocol 2 leaves the producer's epoch unusable. See isFatalTxnErr.
var errTxnReset = errors.New("the transaction did not end cleanly (a broker aborts one that outlives the transaction timeout)")

// endSlowAfter is how long ending a transaction may take before a warning.
const endSlowAfter = 10 * time.Second

// isFatalTxnErr reports whether the processor cannot go on: another live
// instance uses its instance ID, or the transactional ID is not allowed.
//
// A fenced producer is not among them. Under Kafka's transaction protocol
// 2 the coordinator bumps the epoch when it aborts a transaction that
// outlived its timeout, and the producer then reads InvalidProducerEpoch or
// ProducerFenced exactly as if another producer had taken its
// transactional ID. A new client goes on (errTxnReset). Were another
// live instance using the same instance ID (hence transactional ID), the
// group keeps the newer member and the other stops with FencedInstanceID;
// Run's restart bound ends any back and forth.
func isFatalTxnErr(err error) bool {
	return errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || errors.Is(err, kerr.FencedInstanceID)
}

// errStaleEpoch says why a transaction reset when its end itself reported
// nothing: outputs were refused for the producer's epoch.
var errStaleEpoch = errors.New("outputs were refused for a stale producer epoch")

// rewriteTxnCommit makes a transactional offset commit carry the snapshot:
// kgo fills the request with the polled positions, which may be ahead of
// records still running; the snapshot's watermarks never are.
func rewriteTxnCommit(req *kmsg.TxnOffsetCommitRequest, snap []partSnapshot) {
	ids := map[string][16]byte{}
	for _, t := range req.Topics {
		ids[t.Topic] = t.TopicID
	}
	byTopic := map[string]int{}
	req.Topics = req.Topics[:0]
	for _, s := range snap {
		i, ok := byTopic[s.ps.tp.topic]
		if !ok {
			t := kmsg.NewTxnOffsetCommitRequestTopic()
			t.Topic, t.TopicID = s.ps.tp.topic, ids[s.ps.tp.topic]
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[s.ps.tp.topic] = i
		}
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = s.ps.tp.partition, s.offset, s.epoch
		meta := s.meta
		p.Metadata = &meta
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
}
