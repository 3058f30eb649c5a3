//go:build integration

package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/failure"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationExactlyOnceRetriesReplayScaleOutIn puts exactly-once mode
// through the failure path and rebalances at once: while records flow,
// poison records go through both retry tiers (key-ordered: later records of
// their keys wait behind them) to the dead-letter topic, and a second
// instance joins the group and leaves again (static membership: its
// partitions move back after the session timeout). Then the cause is fixed
// and the dead-letter topic replayed. Read read_committed,
// as a downstream stage reads: every record out exactly once, each key's
// outputs in input order, and the group committed to the end of the input
// and of both retry tiers.
func TestIntegrationExactlyOnceRetriesReplayScaleOutIn(t *testing.T) {
	const n, keys, everyNth = 6000, 200, 50
	k := kafkatest.NewKafka(t)
	k.CreateTopic(t, "in", 6, nil)
	k.CreateTopic(t, "out", 6, nil)
	brokers := k.Brokers()

	var fixed atomic.Bool
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if strings.HasPrefix(string(r.Value), "needs-dependency") && !fixed.Load() {
			return nil, pipeline.MarkRetryable(errors.New("inventory service unavailable"))
		}
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	const group = "eos-faults"
	instance := func(id string) func() error {
		p, err := pipeline.New(group, h, pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.InstanceID(id),
			pipeline.RetryDelays(200*time.Millisecond, 400*time.Millisecond), pipeline.KeyOrderedRetries(true),
			pipeline.CommitInterval(300*time.Millisecond), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		return run(t, p)
	}
	stopA := instance("a")

	// The input, produced over ~20 s so that every fault below meets
	// records in flight.
	value := func(i int) string {
		if i%everyNth == 0 {
			return "needs-dependency-" + strconv.Itoa(i)
		}
		return "ok-" + strconv.Itoa(i)
	}
	produced := produceSpread(t, brokers, "in", n, keys, 300, value)

	out := newClient(t, brokers, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]int{}
	last := map[string]int{}
	var disorder []string
	read := func(want int, timeout time.Duration, what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		for len(seen) < want && ctx.Err() == nil {
			out.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				v := string(r.Value)
				seen[v]++
				i, _ := strconv.Atoi(v[strings.LastIndexByte(v, '-')+1:])
				if prev, ok := last[string(r.Key)]; ok && i < prev && !strings.HasPrefix(v, "needs-dependency") {
					disorder = append(disorder, fmt.Sprintf("key %s: %s after %d", r.Key, v, prev))
				}
				if !strings.HasPrefix(v, "needs-dependency") {
					last[string(r.Key)] = i
				}
			})
		}
		if len(seen) < want {
			t.Fatalf("%s: %d distinct records out (read_committed), want %d", what, len(seen), want)
		}
	}

	read(n/5, 2*time.Minute, "before scaling out")
	stopB := instance("b")
	t.Logf("second instance started with %d records out", len(seen))
	read(3*n/5, 2*time.Minute, "with two instances")
	if err := stopB(); err != nil {
		t.Fatalf("second instance: %v", err)
	}
	t.Logf("second instance stopped with %d records out", len(seen))
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	const poisoned = n / everyNth
	read(n-poisoned, 3*time.Minute, "every good record")

	dlq := committedValues(t, brokers, failure.DeadLetterTopic("in"), poisoned, 2*time.Minute)
	if len(dlq) != poisoned {
		t.Fatalf("%d distinct records in the DLQ (read_committed), want %d", len(dlq), poisoned)
	}
	for v, c := range dlq {
		if c != 1 {
			t.Errorf("%s in the DLQ %d times, want once", v, c)
		}
	}

	fixed.Store(true)
	q, err := deadletter.Open(context.Background(), failure.DeadLetterTopic("in"), kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st, err := q.Replay(context.Background())
	if err != nil || st.Replayed != poisoned {
		t.Fatalf("replay: %d replayed, err %v; want %d", st.Replayed, err, poisoned)
	}
	read(n, 2*time.Minute, "after the replay")
	// Whatever else is committed (duplicates) arrives within a moment.
	pollFor(out, 2*time.Second, seen)

	waitUntil(t, time.Minute, "the group committed to the end of the input and both retry tiers", func() bool {
		return caughtUp(t, brokers, group, "in", failure.RetryTopic("in", 200*time.Millisecond), failure.RetryTopic("in", 400*time.Millisecond))
	})
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	dups := reportDuplicates(t, seen)
	for i, d := range disorder {
		if i < 5 {
			t.Errorf("out of key order: %s", d)
		}
	}
	t.Logf("in=%d dead-lettered=%d replayed=%d out=%d duplicates=%d out-of-order=%d", n, len(dlq), st.Replayed, len(seen), dups, len(disorder))
}
