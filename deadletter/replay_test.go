package deadletter_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
)

// replayDLQ writes five dead-letter records to orders.dlq: four failed in
// orders (one "timeout"), one with Connect headers from payments, and one
// record with no error headers at all.
func replayDLQ(t *testing.T, extra ...string) *cluster {
	topics := map[string]int32{"orders": 3, "payments": 1, "orders.dlq": 1}
	for _, e := range extra {
		topics[e] = 1
	}
	c := newCluster(t, topics)
	now := time.Now()
	c.produce("orders.dlq",
		sluiceRecord(failed{key: "o-1", class: "poison", err: "bad currency", at: now, origin: "orders", originOffset: 1}),
		sluiceRecord(failed{key: "o-2", class: "retryable", err: "payment timeout", at: now, origin: "orders", originOffset: 2}),
		connectRecord(0, "p-1", "payments", "DataException", "bad bytes", now),
		&kgo.Record{Key: []byte("stray"), Value: []byte("no headers")},
		sluiceRecord(failed{key: "o-3", class: "panic", err: "nil map", at: now, origin: "orders", originOffset: 3}),
		sluiceRecord(failed{key: "o-1", class: "permanent", err: "rejected", at: now, origin: "orders", originOffset: 4}),
	)
	return c
}

func replay(t *testing.T, c *cluster, opts ...deadletter.ReplayOption) deadletter.ReplayStats {
	t.Helper()
	st, err := c.open("orders.dlq").Replay(c.ctx, opts...)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return st
}

// replayedOnce fails t if a dead-letter record was replayed to topics more
// than once, and returns how many were replayed.
func replayedOnce(t *testing.T, c *cluster, topics ...string) int {
	t.Helper()
	seen := map[string]bool{}
	for _, topic := range topics {
		for _, r := range c.records(topic) {
			from, _ := header(r, failure.HeaderReplayed)
			if seen[from] {
				t.Errorf("%s replayed twice", from)
			}
			seen[from] = true
		}
	}
	return len(seen)
}

func TestReplaySendsOriginalsBackOnceWithTheReplayedHeader(t *testing.T) {
	c := replayDLQ(t)
	st := replay(t, c)
	if st.Examined != 6 || st.Replayed != 5 || st.NoOrigin != 1 || st.Skipped != 0 ||
		!maps.Equal(st.Topics, map[string]int{"orders": 4, "payments": 1}) {
		t.Errorf("stats %+v", st)
	}

	orders := c.records("orders")
	if len(orders) != 4 {
		t.Fatalf("orders has %d records, want 4", len(orders))
	}
	dlq := c.records("orders.dlq")
	for _, r := range orders {
		from, ok := header(r, failure.HeaderReplayed)
		if !ok {
			t.Fatalf("%s has no %s header", r.ID(), failure.HeaderReplayed)
		}
		var src *deadletter.Record
		for _, d := range dlq {
			if d.ID() == from {
				src = d
			}
		}
		if src == nil {
			t.Fatalf("%s replayed from %q, which is not in the DLQ", r.ID(), from)
		}
		if string(r.Key) != string(src.Key) || string(r.Value) != string(src.Value) {
			t.Errorf("%s: key/value %q/%q, want the DLQ record's %q/%q", r.ID(), r.Key, r.Value, src.Key, src.Value)
		}
		if tp, _ := header(r, "traceparent"); tp != "trace-"+string(r.Key) {
			t.Errorf("%s lost the application header: %q", r.ID(), tp)
		}
		for _, h := range r.Headers {
			if strings.HasPrefix(h.Key, "sluice.") && !failure.IsReplayHeader(h.Key) {
				t.Errorf("%s kept error header %s", r.ID(), h.Key)
			}
		}
	}
	payments := c.records("payments")
	// Connect's record carries no attempts count: no sluice.replay.attempts.
	if len(payments) != 1 || len(payments[0].Headers) != 3 {
		t.Fatalf("payments: %d records, headers %v; want 1 with traceparent, %s and %s", len(payments), payments[0].Headers, failure.HeaderReplayed, failure.HeaderReplays)
	}

	again := replay(t, c)
	if again.Examined != 0 || again.Replayed != 0 {
		t.Errorf("second replay %+v, want nothing examined or sent", again)
	}
	if n := len(c.records("orders")); n != 4 {
		t.Errorf("after a second replay orders has %d records, want still 4", n)
	}

	c.produce("orders.dlq", sluiceRecord(failed{key: "o-9", class: "poison", err: "new", at: time.Now(), origin: "orders"}))
	third := replay(t, c)
	if third.Examined != 1 || third.Replayed != 1 || len(c.records("orders")) != 5 {
		t.Errorf("replay of one new record: %+v, orders has %d records", third, len(c.records("orders")))
	}
	offs, err := c.open("orders.dlq").Offsets(c.ctx)
	if err != nil || offs[0].Replayed != offs[0].End {
		t.Errorf("progress %+v (%v), want at the end", offs, err)
	}
}

func TestReplayResumesAfterALimit(t *testing.T) {
	c := replayDLQ(t)
	first := replay(t, c, deadletter.WithFilter(deadletter.Filter{Limit: 2}))
	if first.Replayed != 2 || !first.Limited {
		t.Errorf("limited replay %+v, want 2 sent and Limited", first)
	}
	rest := replay(t, c)
	if first.Replayed+rest.Replayed != 5 || first.Examined+rest.Examined != 6 {
		t.Errorf("replays sent %d then %d (examined %d, %d); want 5 in all, 6 examined", first.Replayed, rest.Replayed, first.Examined, rest.Examined)
	}
	if n := replayedOnce(t, c, "orders", "payments"); n != 5 {
		t.Errorf("%d distinct records replayed, want 5", n)
	}
}

// Progress is "records examined": a filtered replay moves past the records
// it skipped, and only FromStart brings them back.
func TestReplayProgressCoversSkippedRecords(t *testing.T) {
	c := replayDLQ(t)
	st := replay(t, c, deadletter.WithFilter(deadletter.Filter{ErrorContains: "timeout"}))
	if st.Replayed != 1 || st.Skipped != 5 || st.NoOrigin != 0 {
		t.Errorf("filtered replay %+v, want 1 sent, 5 skipped (the filter comes first)", st)
	}
	if again := replay(t, c); again.Replayed != 0 {
		t.Errorf("unfiltered rerun sent %d, want 0: the first replay examined everything", again.Replayed)
	}
	all := replay(t, c, deadletter.FromStart())
	if all.Replayed != 5 {
		t.Errorf("replay from the start sent %d, want 5", all.Replayed)
	}
	if n := len(c.records("orders")); n != 1+4 {
		t.Errorf("orders has %d records, want 5 (the timeout one twice, deliberately)", n)
	}
}

func TestReplayOfOnePartitionLeavesTheOthers(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1, "orders.dlq": 2})
	c.produce("orders.dlq",
		sluiceRecord(failed{partition: 0, key: "a", at: time.Now(), origin: "orders"}),
		sluiceRecord(failed{partition: 1, key: "b", at: time.Now(), origin: "orders"}),
	)
	if st := replay(t, c, deadletter.WithFilter(deadletter.Filter{Partitions: []int32{1}})); st.Replayed != 1 || st.Examined != 1 {
		t.Errorf("partition 1 replay %+v", st)
	}
	if st := replay(t, c); st.Replayed != 1 || st.Examined != 1 {
		t.Errorf("then the full replay %+v, want partition 0's record", st)
	}
}

func TestReplayToFirstRetryTier(t *testing.T) {
	c := replayDLQ(t, "orders.retry.30s", "orders.retry.5s", "orders.retry.5m", "payments.retry.1m")
	st := replay(t, c, deadletter.ToFirstRetry())
	if !maps.Equal(st.Topics, map[string]int{"orders.retry.5s": 4, "payments.retry.1m": 1}) {
		t.Errorf("replayed to %v", st.Topics)
	}
	if n := len(c.records("orders.retry.5s")); n != 4 {
		t.Errorf("orders.retry.5s has %d records, want 4", n)
	}
}

func TestReplayToAMissingTierFailsAndSendsNothing(t *testing.T) {
	c := replayDLQ(t, "orders.retry.5s")
	_, err := c.open("orders.dlq").Replay(c.ctx, deadletter.ToFirstRetry())
	if err == nil || !strings.Contains(err.Error(), "payments has no retry tier") {
		t.Fatalf("error %v, want one saying payments has no retry tier", err)
	}
	if n := len(c.records("orders.retry.5s")); n != 0 {
		t.Errorf("the failed batch left %d records visible", n)
	}
	_, err = c.open("orders.dlq").Replay(c.ctx, deadletter.ToRetryTier(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "orders.retry.1m of origin orders does not exist") {
		t.Errorf("error %v", err)
	}
}

func TestDryRunSendsAndCommitsNothing(t *testing.T) {
	c := replayDLQ(t)
	q := c.open("orders.dlq")
	var planned []string
	st, err := q.PlanReplay(c.ctx, func(rec *deadletter.Record, out *kgo.Record) error {
		planned = append(planned, rec.ID()+"->"+out.Topic)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "orders.dlq/0/0->orders orders.dlq/0/1->orders orders.dlq/0/2->payments orders.dlq/0/4->orders orders.dlq/0/5->orders"
	if strings.Join(planned, " ") != want || st.Replayed != 5 || st.NoOrigin != 1 || st.Examined != 6 {
		t.Errorf("planned %v, stats %+v", planned, st)
	}
	if n := len(c.records("orders")) + len(c.records("payments")); n != 0 {
		t.Errorf("dry run sent %d records", n)
	}
	offs, err := q.Offsets(c.ctx)
	if err != nil || offs[0].Replayed != -1 {
		t.Errorf("dry run committed progress: %+v, %v", offs, err)
	}
	if real := replay(t, c); real.Replayed != 5 {
		t.Errorf("replay after the dry run sent %d, want 5", real.Replayed)
	}
}

// A replay killed inside a transaction leaves it open; the next replay,
// with the same transactional ID, aborts it, so nothing appears twice.
func TestReplayAfterACrashMidBatchSendsNothingTwice(t *testing.T) {
	c := replayDLQ(t)
	crashed := c.fake.Client(t, kgo.TransactionalID(deadletter.ProgressGroup("orders.dlq")))
	if err := crashed.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	ghost := deadletter.Parse(sluiceRecord(failed{key: "o-1", at: time.Now(), origin: "orders"}))
	ghost.Topic = "orders.dlq"
	if err := crashed.ProduceSync(c.ctx, ghost.ReplayRecord("orders")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	crashed.Close() // no EndTransaction: as if the process died

	if st := replay(t, c); st.Replayed != 5 {
		t.Errorf("replay sent %d, want 5", st.Replayed)
	}
	if n := len(c.records("orders")); n != 4 {
		t.Errorf("read_committed consumers see %d records on orders, want 4 (the crashed batch aborted)", n)
	}
}

func TestReplayRateIsApplied(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1, "orders.dlq": 1})
	var recs []*kgo.Record
	for range 25 {
		recs = append(recs, sluiceRecord(failed{key: "k", at: time.Now(), origin: "orders"}))
	}
	c.produce("orders.dlq", recs...)
	clock := time.Unix(0, 0)
	var sleeps []time.Duration
	var batches int
	st := replay(t, c, deadletter.Rate(10),
		deadletter.Progress(func(deadletter.ReplayStats) { batches++ }),
		deadletter.ReplayClock(func() time.Time { return clock }, func(_ context.Context, d time.Duration) error {
			sleeps = append(sleeps, d)
			clock = clock.Add(d)
			return nil
		}))
	if st.Replayed != 25 {
		t.Fatalf("replayed %d, want 25", st.Replayed)
	}
	// The first record goes at once, each next one 100ms later.
	if len(sleeps) != 24 || clock.Sub(time.Unix(0, 0)) != 2400*time.Millisecond {
		t.Errorf("%d waits adding up to %v; want 24 adding up to 2.4s", len(sleeps), clock.Sub(time.Unix(0, 0)))
	}
	if batches < 3 {
		t.Errorf("%d transactions, want at least 3 (about a second of records each)", batches)
	}
}

func TestReplayStopsCleanlyWhenInterrupted(t *testing.T) {
	c := replayDLQ(t)
	ctx, cancel := context.WithCancel(c.ctx)
	n := 0
	_, err := c.open("orders.dlq").Replay(ctx, deadletter.Rate(1),
		deadletter.ReplayClock(time.Now, func(context.Context, time.Duration) error {
			if n++; n == 2 {
				cancel()
				return context.Canceled
			}
			return nil
		}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	done := len(c.records("orders")) + len(c.records("payments"))
	st := replay(t, c)
	if total := done + st.Replayed; total != 5 || len(c.records("orders"))+len(c.records("payments")) != 5 {
		t.Errorf("%d sent before the interruption, %d after; want 5 in all, each once", done, st.Replayed)
	}
}

// A replay bounded by an offset range leaves the records after it for a
// later replay: it never reads, let alone commits, past the range.
func TestReplayOfAnOffsetRangeLeavesTheRecordsAfterIt(t *testing.T) {
	c := replayDLQ(t)
	first := replay(t, c, deadletter.WithFilter(deadletter.Filter{Offsets: deadletter.NewOffsetRange(0, 2)}))
	if first.Examined != 3 || first.Replayed != 3 {
		t.Errorf("replay of offsets 0-2: %+v, want 3 examined and sent", first)
	}
	rest := replay(t, c)
	if rest.Examined != 3 || rest.Replayed != 2 || rest.NoOrigin != 1 {
		t.Errorf("then the full replay %+v, want offsets 3-5 examined, 2 sent", rest)
	}
}

func TestReplayInSmallBatchesAcrossPartitionsSendsEachRecordOnce(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 2, "orders.dlq": 3})
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, sluiceRecord(failed{partition: int32(i % 3), key: "k" + string(rune('a'+i)), at: time.Now(), origin: "orders"}))
	}
	c.produce("orders.dlq", recs...)
	total := 0
	for run := 0; total < 30; run++ {
		if run == 10 {
			t.Fatalf("10 replays of at most 7 sent only %d of 30", total)
		}
		st := replay(t, c, deadletter.WithFilter(deadletter.Filter{Limit: 7}))
		if st.Replayed == 0 || st.Replayed > 7 {
			t.Fatalf("replay %d sent %d, want 1 to 7", run, st.Replayed)
		}
		total += st.Replayed
	}
	if n := replayedOnce(t, c, "orders"); n != 30 {
		t.Errorf("%d distinct records on orders, want 30", n)
	}
}

// A second replay of the same topic fences the first: the first stops
// with an error, the second finishes the job, and no record is sent twice.
func TestASecondReplayTakesOverFromTheFirst(t *testing.T) {
	c := replayDLQ(t)
	adm := kadm.NewClient(c.fake.Client(t))
	txnID := deadletter.ProgressGroup("orders.dlq")
	type result struct {
		st  deadletter.ReplayStats
		err error
	}
	second := make(chan result, 1)
	started := false
	sleep := func(ctx context.Context, _ time.Duration) error {
		if started {
			return nil
		}
		started = true
		before, err := adm.DescribeTransactions(ctx, txnID)
		if err != nil {
			return err
		}
		go func() {
			st, err := c.open("orders.dlq").Replay(c.ctx)
			second <- result{st, err}
		}()
		// Wait until the second replay has taken the transactional ID.
		for {
			now, err := adm.DescribeTransactions(ctx, txnID)
			if err != nil {
				return err
			}
			if now[txnID].ProducerEpoch != before[txnID].ProducerEpoch || now[txnID].ProducerID != before[txnID].ProducerID {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	first, err := c.open("orders.dlq").Replay(c.ctx, deadletter.Rate(1), deadletter.ReplayClock(time.Now, sleep))
	if err == nil || !strings.Contains(err.Error(), "another replay of orders.dlq started") {
		t.Fatalf("first replay: %+v, error %v; want it fenced", first, err)
	}
	t.Logf("first replay stopped with: %v", err)
	r := <-second
	if r.err != nil {
		t.Fatalf("second replay: %v", r.err)
	}
	if first.Replayed+r.st.Replayed != 5 {
		t.Errorf("first replayed %d, second %d; want 5 in all", first.Replayed, r.st.Replayed)
	}
	if n := replayedOnce(t, c, "orders", "payments"); n != 5 {
		t.Errorf("%d records replayed, want each of the 5 once", n)
	}
}

// refail writes to orders.dlq what the runtime writes when a replayed
// record fails again: the replayed record with fresh error headers and the
// replay headers carried through (failure.AppendHeaders), attempts counted
// on from the replay's. It stands in for a processor, so the test checks
// the replay side of the loop only.
func refail(c *cluster, replayed *deadletter.Record, attemptsThisPass int) {
	c.t.Helper()
	f, _ := failure.Decode(replayed.Headers)
	f.Attempts = f.ReplayAttempts + attemptsThisPass
	f.Class, f.Error = "permanent", "rejected again"
	f.FirstFailure, f.LastFailure = time.Now(), time.Now()
	f.Origin = failure.Origin{Topic: replayed.Topic, Partition: replayed.Partition, Offset: replayed.Offset}
	f.Processor = "validate"
	var hs []kgo.RecordHeader
	for _, h := range replayed.Headers {
		if !failure.IsHeader(h.Key) && !failure.IsReplayHeader(h.Key) {
			hs = append(hs, h)
		}
	}
	c.produce("orders.dlq", &kgo.Record{Key: replayed.Key, Value: replayed.Value, Headers: failure.AppendHeaders(hs, &f, false)})
}

// TestReplayDoesNotLoopRecordsThatFailAgain replays, lets two replayed
// records fail again, and replays again: the second replay sends the new
// dead letters but not the two that came back, and says so; with
// IncludeRefailed (from the start) it sends them, with the replay count
// and the attempts carried on.
func TestReplayDoesNotLoopRecordsThatFailAgain(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1, "orders.dlq": 1})
	now := time.Now()
	c.produce("orders.dlq",
		sluiceRecord(failed{key: "o-1", class: "permanent", err: "rejected", at: now, origin: "orders", originOffset: 1}),
		sluiceRecord(failed{key: "o-2", class: "permanent", err: "rejected", at: now, origin: "orders", originOffset: 2}),
	)
	if st := replay(t, c); st.Replayed != 2 || st.Refailed != 0 {
		t.Fatalf("first replay %+v, want 2 sent, none refailed", st)
	}
	for _, r := range c.records("orders") {
		refail(c, r, 2) // 3 attempts before the replay, 2 since
	}
	c.produce("orders.dlq", sluiceRecord(failed{key: "o-3", class: "poison", err: "new", at: now, origin: "orders"}))

	q := c.open("orders.dlq")
	plan, err := q.PlanReplay(c.ctx, func(*deadletter.Record, *kgo.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	second := replay(t, c)
	for name, st := range map[string]deadletter.ReplayStats{"dry run": plan, "replay": second} {
		if st.Examined != 3 || st.Replayed != 1 || st.Refailed != 2 || st.Skipped != 0 || st.NoOrigin != 0 {
			t.Errorf("second %s %+v, want 3 examined, 1 sent, 2 refailed left out", name, st)
		}
	}
	orders := c.records("orders")
	if len(orders) != 3 || string(orders[2].Key) != "o-3" {
		t.Fatalf("orders after the second replay: %v, want o-1, o-2 once and o-3", ids(orders))
	}

	third := replay(t, c, deadletter.IncludeRefailed(), deadletter.FromStart())
	if third.Replayed != 5 || third.Refailed != 2 {
		t.Errorf("replay with IncludeRefailed from the start %+v, want all 5 sent, 2 of them refailed", third)
	}
	var again []*deadletter.Record
	for _, r := range c.records("orders")[3:] {
		if r.Replays == 2 {
			again = append(again, r)
		}
	}
	if len(again) != 2 {
		t.Fatalf("%d records replayed a second time with sluice.replays=2, want 2", len(again))
	}
	for _, r := range again {
		if r.ReplayAttempts != 5 {
			t.Errorf("%s: sluice.replay.attempts %d, want 5 (3 before the first replay + 2 since)", r.ID(), r.ReplayAttempts)
		}
	}
}
