package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/pipeline"
)

// redriveRoundTrip runs the whole poison path on brokers: records whose
// dependency is "down" go through the retry tiers to the DLQ while good
// records pass; the cause is fixed (a switch), the DLQ is replayed and
// everything gets processed; a second replay sends nothing. It returns a
// one-line summary of the figures.
func redriveRoundTrip(t testing.TB, brokers []string, in, out string) string {
	const n, everyNth = 400, 10
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("ok-%d", i)
		if i%everyNth == 0 {
			v = fmt.Sprintf("needs-dependency-%d", i)
		}
		recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint("k", i)), Value: []byte(v)})
	}
	if err := newClient(t, brokers).ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if strings.HasPrefix(string(r.Value), "needs-dependency") && !fixed.Load() {
			return nil, pipeline.MarkRetryable(errors.New("inventory service unavailable"))
		}
		return []pipeline.Output{{Topic: out, Key: r.Key, Value: r.Value}}, nil
	}
	start := time.Now()
	p, err := pipeline.New("redrive-"+in, h, pipeline.Topics(in), pipeline.RetryDelays(300*time.Millisecond, 600*time.Millisecond),
		pipeline.CommitInterval(100*time.Millisecond), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	const poisoned = n / everyNth
	dlq := consumeAll(t, brokers, failure.DeadLetterTopic(in), poisoned, 60*time.Second)
	if len(dlq) != poisoned {
		t.Fatalf("%d records in the DLQ, want %d", len(dlq), poisoned)
	}
	for _, r := range dlq {
		if got := header(r, failure.HeaderAttempts); got != "3" {
			t.Fatalf("DLQ record %s has attempts %q, want 3 (first try + 2 tiers)", r.Value, got)
		}
	}
	if got := len(drainValues(t, brokers, out, n-poisoned, 30*time.Second)); got != n-poisoned {
		t.Fatalf("%d good records processed, want %d", got, n-poisoned)
	}

	fixed.Store(true) // the dependency is back
	q, err := deadletter.Open(context.Background(), failure.DeadLetterTopic(in), kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st, err := q.Replay(context.Background())
	if err != nil || st.Replayed != poisoned {
		t.Fatalf("replay: %d replayed, err %v; want %d", st.Replayed, err, poisoned)
	}
	seen := drainValues(t, brokers, out, n, 30*time.Second)
	if len(seen) != n {
		t.Fatalf("after the replay %d of %d records processed", len(seen), n)
	}
	again, err := q.Replay(context.Background())
	if err != nil || again.Replayed != 0 {
		t.Fatalf("second replay: %d replayed, err %v; want nothing", again.Replayed, err)
	}
	waitUntil(t, 30*time.Second, "the group to commit everything", func() bool { return caughtUp(t, brokers, "redrive-"+in, in) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	return fmt.Sprintf("in=%d dead-lettered=%d replayed=%d second-replay=%d out=%d duplicates=%d lost=%d seconds=%.1f",
		n, len(dlq), st.Replayed, again.Replayed, len(seen), dups, n-len(seen), time.Since(start).Seconds())
}

// TestRedriveRoundTrip: poison → retry tiers → DLQ → fix → replay →
// everything processed, and a second replay sends nothing.
func TestRedriveRoundTrip(t *testing.T) {
	brokers := fakeKafka(t, 3, "in", "out")
	t.Log(redriveRoundTrip(t, brokers, "in", "out"))
}
