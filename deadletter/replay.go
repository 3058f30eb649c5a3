package deadletter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReplayOption configures [Queue.Replay] and [Queue.PlanReplay].
type ReplayOption func(*replayConfig)

type replayConfig struct {
	toRetry         bool
	includeRefailed bool
	delay           time.Duration
	filter          Filter
	rate            float64
	fromStart       bool
	progress        func(ReplayStats)
	batch           int
	pacer           *pacer
	// now and sleep replace the pacer's clock in tests.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// ToOrigin sends each record back to the topic it first came from
// ([failure.HeaderOriginTopic], or Connect's [failure.ConnectHeaderTopic]). The default.
func ToOrigin() ReplayOption { return func(c *replayConfig) { c.toRetry, c.delay = false, 0 } }

// ToFirstRetry sends each record to its origin's first retry tier: the
// existing topic "<origin>.retry.<delay>" with the shortest delay (see
// [failure.RetryTopic]), so it is retried after that delay instead of at once.
func ToFirstRetry() ReplayOption { return func(c *replayConfig) { c.toRetry, c.delay = true, 0 } }

// ToRetryTier sends each record to its origin's retry tier for delay d,
// which must exist.
func ToRetryTier(d time.Duration) ReplayOption {
	return func(c *replayConfig) { c.toRetry, c.delay = true, d }
}

// WithFilter replays only the records f matches. Default: every record.
// Records the filter skips still count as examined, so a later replay
// continues after them (see [Queue.Replay]). What bounds the reading is
// different: partitions outside f.Partitions, and offsets after the end of
// f.Offsets, are not read at all and are left for a later replay. Limit
// counts replayed records; the rest are left for a later replay too.
func WithFilter(f Filter) ReplayOption { return func(c *replayConfig) { c.filter = f } }

// IncludeRefailed replays records that came back from an earlier replay
// ([Record.Refailed]) too. Default: they are left out, so a record that
// fails every time is not sent round the loop by every replay; the summary
// counts them ([ReplayStats.Refailed]). Like records a filter skips, the
// ones left out are behind the progress afterwards: replaying them later
// takes IncludeRefailed with [FromStart].
func IncludeRefailed() ReplayOption { return func(c *replayConfig) { c.includeRefailed = true } }

// Rate sends at most perSecond records a second, evenly spaced. Default 0:
// as fast as the cluster takes them. Use it to spare the processors behind
// the target topic.
func Rate(perSecond float64) ReplayOption { return func(c *replayConfig) { c.rate = perSecond } }

// FromStart forgets the progress of earlier replays and examines the
// dead-letter topic from its start, so records replayed before are replayed
// again. Needed to replay records an earlier replay skipped with a filter.
func FromStart() ReplayOption { return func(c *replayConfig) { c.fromStart = true } }

// Progress calls fn after every committed batch with the totals so far, on
// the goroutine running the replay.
func Progress(fn func(ReplayStats)) ReplayOption { return func(c *replayConfig) { c.progress = fn } }

func newReplayConfig(opts []ReplayOption) replayConfig {
	c := replayConfig{batch: 500}
	for _, o := range opts {
		o(&c)
	}
	if c.rate > 0 {
		// About a second of records per transaction, so a slow rate does
		// not hold a transaction open for long.
		c.batch = max(1, min(c.batch, int(c.rate)))
	}
	c.pacer = newPacer(c.rate)
	if c.pacer != nil && c.now != nil {
		c.pacer.now, c.pacer.sleep = c.now, c.sleep
	}
	return c
}

// ReplayStats counts what a replay did.
type ReplayStats struct {
	// Pending is how many offsets there were to examine when the replay
	// started (an upper bound on records: transaction markers and deleted
	// records take offsets too).
	Pending int64
	// Examined is how many dead-letter records were read; the progress
	// group covers every one of them.
	Examined int
	// Replayed is how many were sent (by PlanReplay: would be sent).
	Replayed int
	// Skipped is how many the filter left out.
	Skipped int
	// Refailed is how many of the records the filter matched came back
	// from an earlier replay ([Record.Refailed]): an earlier replay's
	// records that failed again. Without [IncludeRefailed] they are left
	// out (counted here only); with it they are sent and counted in
	// Replayed too.
	Refailed int
	// NoOrigin is how many were left out because no header names their
	// origin topic.
	NoOrigin int
	// Topics is how many were replayed to each target topic.
	Topics map[string]int
	// Limited is true when the filter's Limit stopped the replay before
	// the end.
	Limited bool
}

func (s *ReplayStats) add(b ReplayStats) {
	s.Examined += b.Examined
	s.Replayed += b.Replayed
	s.Skipped += b.Skipped
	s.Refailed += b.Refailed
	s.NoOrigin += b.NoOrigin
	if s.Topics == nil {
		s.Topics = map[string]int{}
	}
	for t, n := range b.Topics {
		s.Topics[t] += n
	}
}

func (s ReplayStats) clone() ReplayStats {
	s.Topics = maps.Clone(s.Topics)
	return s
}

// Replay sends the dead-letter records the options select back to their
// origin topic (or a retry tier), each as [Record.ReplayRecord] builds it:
// the original key, value and headers, without the error headers, with
// the replay headers ([failure.HeaderReplayed], [failure.HeaderReplays],
// [failure.HeaderReplayAttempts]). Records that came back from an earlier
// replay are left out unless [IncludeRefailed].
//
// It examines every record from where the last replay of this topic
// stopped (or from the start, the first time or with [FromStart]) to the
// end offsets seen when it starts, then returns. Progress is the committed
// offsets of the consumer group [ProgressGroup]: records examined, whether
// replayed or skipped by the filter. Each batch of records is sent and its
// progress committed in one Kafka transaction (transactional ID
// [ProgressGroup]), so a crash or Ctrl-C at any point leaves either the
// whole batch sent and recorded or none of it, and a rerun sends nothing
// twice. Consumers of the target topics see an aborted batch unless they
// read with isolation level read_committed.
//
// Two replays of the same topic cannot run at once: the second fences the
// first, which stops with an error wrapping kerr.ProducerFenced (or
// kerr.InvalidProducerEpoch). When ctx ends, Replay aborts the open batch
// and returns the totals of the committed ones with ctx's error.
func (q *Queue) Replay(ctx context.Context, opts ...ReplayOption) (ReplayStats, error) {
	cfg := newReplayConfig(opts)
	var st ReplayStats
	if err := q.checkPartitions(cfg.filter); err != nil {
		return st, err
	}
	if cfg.fromStart {
		if err := q.forgetProgress(ctx); err != nil {
			return st, err
		}
	}
	rt, err := newRouter(ctx, q, cfg)
	if err != nil {
		return st, err
	}
	group := ProgressGroup(q.topic)
	sess, err := kgo.NewGroupTransactSession(append(slices.Clone(q.conn),
		kgo.TransactionalID(group),
		kgo.TransactionTimeout(time.Minute),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(q.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.KeepControlRecords(),
		// Switching partitions waits for the fetch in flight, which
		// waits this long for records the finished partition never gets.
		kgo.FetchMaxWait(250*time.Millisecond),
	)...)
	if err != nil {
		return st, err
	}
	defer sess.Close()
	// Taking the transactional ID fences a replay of this topic that is
	// still running (its open batch aborts, its next one fails), so the
	// progress read next cannot move any more but by this replay.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return st, q.txnError("initialize the transactional producer", err)
	}
	offs, err := q.Offsets(ctx)
	if err != nil {
		return st, err
	}
	sp := newSpan(offs, replayBounds(cfg.filter), true)
	st.Pending = sp.remaining()

	// The session commits every record it polled, so it must never poll
	// one past a partition's end: it reads one partition at a time (the
	// others paused) and polls no more records than offsets are left.
	current := int32(-1)
	for !sp.done() {
		p, left := sp.first()
		if p != current {
			others := slices.DeleteFunc(slices.Clone(q.partitions), func(o int32) bool { return o == p })
			sess.Client().PauseFetchPartitions(map[string][]int32{q.topic: others})
			sess.Client().ResumeFetchPartitions(map[string][]int32{q.topic: {p}})
			current = p
		}
		n := int(min(int64(cfg.batch), left))
		if l := cfg.filter.Limit; l > 0 {
			if st.Replayed >= l {
				st.Limited = true
				break
			}
			n = min(n, l-st.Replayed)
		}
		recs, err := q.poll(ctx, sp, true, func(ctx context.Context) kgo.Fetches { return sess.PollRecords(ctx, n) })
		if err != nil {
			return st, err
		}
		if len(recs) == 0 {
			continue
		}
		b, err := q.replayBatch(ctx, sess, rt, cfg, recs)
		if err != nil {
			return st, err
		}
		if b == nil {
			continue // a rebalance aborted the batch; the session rewound
		}
		st.add(*b)
		for _, r := range recs {
			if sp.within(r) {
				sp.advance(r)
			}
		}
		if cfg.progress != nil {
			cfg.progress(st.clone())
		}
	}
	return st, nil
}

// replayBounds is the part of f that bounds what a replay reads: the
// partitions, and the end of the offset range. Records before the range's
// start are read and skipped, since the replay starts at its progress.
func replayBounds(f Filter) Filter {
	b := Filter{Partitions: f.Partitions}
	if f.Offsets.set {
		b.Offsets = NewOffsetRange(0, f.Offsets.To)
	}
	return b
}

// replayBatch sends recs' replays in one transaction with their offsets. It
// returns nil stats when the transaction was aborted for a rebalance.
func (q *Queue) replayBatch(ctx context.Context, sess *kgo.GroupTransactSession, rt *router, cfg replayConfig, recs []*kgo.Record) (*ReplayStats, error) {
	if err := sess.Begin(); err != nil {
		return nil, q.txnError("begin transaction", err)
	}
	b := &ReplayStats{Topics: map[string]int{}}
	var (
		mu         sync.Mutex
		produceErr error
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			produceErr = firstErr(produceErr, fmt.Errorf("send to %s: %w", r.Topic, err))
			mu.Unlock()
		}
	}
	var stop error
	for _, r := range recs {
		if r.Attrs.IsControl() {
			continue
		}
		b.Examined++
		rec := Parse(r)
		if !cfg.filter.Match(rec) {
			b.Skipped++
			continue
		}
		if !cfg.admitRefailed(rec, b) {
			continue
		}
		target, err := rt.target(rec)
		if errors.Is(err, errNoOrigin) {
			b.NoOrigin++
			continue
		}
		if err == nil {
			err = cfg.pacer.wait(ctx)
		}
		if err != nil {
			stop = err
			break
		}
		sess.Produce(ctx, rec.ReplayRecord(target), promise)
		b.Replayed++
		b.Topics[target]++
	}
	// Ending must not be cut short by ctx: an interrupted replay still
	// aborts its transaction cleanly.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if stop == nil {
		if err := sess.Client().Flush(ctx); err != nil {
			stop = err
		}
	}
	mu.Lock()
	stop = firstErr(stop, produceErr)
	mu.Unlock()
	committed, err := sess.End(ectx, kgo.TransactionEndTry(stop == nil))
	if err != nil {
		return nil, q.txnError("end transaction", errors.Join(stop, err))
	}
	if stop != nil {
		return nil, stop
	}
	if !committed {
		return nil, nil
	}
	return b, nil
}

// admitRefailed counts rec in b when it came back from an earlier replay,
// and reports whether it may be replayed.
func (c replayConfig) admitRefailed(rec *Record, b *ReplayStats) bool {
	if !rec.Refailed() {
		return true
	}
	b.Refailed++
	return c.includeRefailed
}

// txnError explains a transaction failure that another replay of the same
// topic caused.
func (q *Queue) txnError(what string, err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		return fmt.Errorf("%s: another replay of %s started (transactional ID %s) and took over; this one stopped, and its committed batches stay committed: %w",
			what, q.topic, ProgressGroup(q.topic), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// forgetProgress deletes the progress group's offsets for the topic.
func (q *Queue) forgetProgress(ctx context.Context) error {
	group := ProgressGroup(q.topic)
	resp, err := q.adm.DeleteOffsets(ctx, group, kadm.TopicsSet{q.topic: setOf(q.partitions)})
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil
	}
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.GroupSubscribedToTopic) || errors.Is(err, kerr.NonEmptyGroup) {
		return fmt.Errorf("cannot reset replay progress: another replay of %s is running (group %s has members): %w", q.topic, group, err)
	}
	if err != nil {
		return fmt.Errorf("reset replay progress (group %s): %w", group, err)
	}
	return nil
}

func setOf(ps []int32) map[int32]struct{} {
	m := make(map[int32]struct{}, len(ps))
	for _, p := range ps {
		m[p] = struct{}{}
	}
	return m
}

// firstErr returns the first non-nil error.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// PlanReplay is a dry run of [Queue.Replay] with the same options: it reads
// what the replay would examine, calls fn with every record it would send
// and the record it would send, and returns the totals Replay would
// report. It sends nothing and commits nothing.
func (q *Queue) PlanReplay(ctx context.Context, fn func(rec *Record, out *kgo.Record) error, opts ...ReplayOption) (ReplayStats, error) {
	cfg := newReplayConfig(opts)
	var st ReplayStats
	if err := q.checkPartitions(cfg.filter); err != nil {
		return st, err
	}
	rt, err := newRouter(ctx, q, cfg)
	if err != nil {
		return st, err
	}
	offs, err := q.Offsets(ctx)
	if err != nil {
		return st, err
	}
	sp := newSpan(offs, replayBounds(cfg.filter), !cfg.fromStart)
	st.Pending = sp.remaining()
	st.Topics = map[string]int{}
	rs, err := q.read(ctx, sp, cfg.filter, func(rec *Record) (bool, error) {
		if !cfg.admitRefailed(rec, &st) {
			return false, nil
		}
		target, err := rt.target(rec)
		if errors.Is(err, errNoOrigin) {
			st.NoOrigin++
			return false, nil
		}
		if err != nil {
			return false, err
		}
		st.Replayed++
		st.Topics[target]++
		return true, fn(rec, rec.ReplayRecord(target))
	})
	st.Examined, st.Limited = rs.Examined, rs.Limited
	st.Skipped = st.Examined - st.Replayed - st.NoOrigin
	if !cfg.includeRefailed {
		st.Skipped -= st.Refailed
	}
	return st, err
}
