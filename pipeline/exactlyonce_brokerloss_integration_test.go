//go:build integration

package pipeline_test

import (
	"context"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationExactlyOnceBrokerLoss kills one of three brokers
// (replication factor 3, min.insync.replicas 2, the transaction state log
// at its defaults) while two exactly-once instances run, and brings it
// back: output keeps coming during the outage, and read_committed every
// record is out exactly once.
func TestIntegrationExactlyOnceBrokerLoss(t *testing.T) {
	const n, keys = 8000, 200
	k := kafkatest.NewKafka(t, kafkatest.Nodes(3))
	k.CreateTopic(t, "in", 6, nil)
	k.CreateTopic(t, "out", 6, nil)
	brokers := k.Brokers()

	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	const group = "eos-broker-loss"
	// Warnings only: a slow transaction end, a client restart.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	instance := func(id string) func() error {
		p, err := pipeline.New(group, h, pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.InstanceID(id),
			pipeline.CommitInterval(300*time.Millisecond), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)),
			pipeline.Logger(log.With("instance", id)))
		if err != nil {
			t.Fatal(err)
		}
		return run(t, p)
	}
	stopA := instance("a")
	stopB := instance("b")

	produced := produceSpread(t, brokers, "in", n, keys, 400, strconv.Itoa)

	out := newClient(t, brokers, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]int{}
	read := func(want int, timeout time.Duration, what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		moved, last := time.Now(), len(seen)
		dumped := false
		for len(seen) < want && ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			out.PollFetches(pctx).EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
			pcancel()
			if len(seen) != last {
				moved, last = time.Now(), len(seen)
			} else if time.Since(moved) > 40*time.Second && !dumped {
				dumped = true
				f, _ := os.Create("/tmp/eos-brokerloss-goroutines.txt")
				pprof.Lookup("goroutine").WriteTo(f, 2)
				f.Close()
				t.Logf("%s: no output for 40s at %d records; goroutines in /tmp/eos-brokerloss-goroutines.txt", what, len(seen))
			}
		}
		if len(seen) < want {
			t.Fatalf("%s: %d distinct records out (read_committed), want %d", what, len(seen), want)
		}
	}

	read(n/5, 2*time.Minute, "before the broker loss")
	k.KillNode(t, 1)
	atKill := len(seen)
	t.Logf("node 1 killed with %d records out", atKill)
	read(atKill+n/4, 2*time.Minute, "with a broker down")
	t.Logf("%d records out while node 1 was down", len(seen)-atKill)
	k.StartNode(t, 1)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	read(n, 2*time.Minute, "every record")
	pollFor(out, 2*time.Second, seen)
	waitUntil(t, time.Minute, "the group committed to the end of the input", func() bool {
		return caughtUp(t, brokers, group, "in")
	})
	for _, stop := range []func() error{stopB, stopA} {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	dups := reportDuplicates(t, seen)
	t.Logf("in=%d out=%d duplicates=%d", n, len(seen), dups)
}
