package pipeline_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestCommitMetadataNeverOutgrowsTheLimit: a handler that finishes records
// far out of order (every tenth record is slow) makes the finished set
// above the watermark ragged. The commit metadata that records it stays
// within the broker's limit: the partition is held back instead, every
// commit succeeds, and every record is processed.
func TestCommitMetadataNeverOutgrowsTheLimit(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []pipeline.Option
	}{{"at-least-once", nil}, {"exactly-once", []pipeline.Option{pipeline.ExactlyOnce()}}} {
		t.Run(mode.name, func(t *testing.T) { testMetadataLimit(t, mode.opts...) })
	}
}

func testMetadataLimit(t *testing.T, opts ...pipeline.Option) {
	brokers := fakeKafka(t, 1, "in", "out")
	const n, limit = 4000, 160
	produceKeyed(t, brokers, "in", n, n) // every record its own key: all may run at once
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if i, _ := strconv.Atoi(string(r.Value)); i%10 == 0 {
			time.Sleep(30 * time.Millisecond)
		}
		return passthrough("out")(ctx, r)
	}
	reg := prometheus.NewRegistry()
	p, err := pipeline.New("ragged", h, append([]pipeline.Option{pipeline.Topics("in"), pipeline.Workers(64), pipeline.OffsetMetadataMaxBytes(limit),
		pipeline.MaxInFlight(400, 1<<20), pipeline.CommitInterval(10 * time.Millisecond), pipeline.Metrics(reg),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	adm := kadm.NewClient(newClient(t, brokers))
	var longest, ragged atomic.Int64
	done := func() bool {
		resp, err := adm.FetchOffsets(context.Background(), "ragged")
		if err != nil || resp.Error() != nil {
			return false
		}
		o, ok := resp.Lookup("in", 0)
		if !ok {
			return false
		}
		if l := int64(len(o.Metadata)); l > longest.Load() {
			longest.Store(l)
		}
		if len(o.Metadata) > 12 {
			ragged.Add(1)
		}
		return o.At == n
	}
	waitUntil(t, 60*time.Second, "every record committed", done)
	holds := metricValue(t, reg, "sluice_processor_metadata_holds_total")
	failures := metricValue(t, reg, "sluice_processor_commit_failures_total")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("longest commit metadata %d bytes (limit %d), %d samples with finished records above the watermark, partition held back %v times", longest.Load(), limit, ragged.Load(), holds)
	if longest.Load() > limit {
		t.Errorf("commit metadata of %d bytes, over the %d-byte limit", longest.Load(), limit)
	}
	if holds == 0 {
		t.Error("the partition was never held back: the test did not reach the limit")
	}
	if failures != 0 {
		t.Errorf("%v commits failed", failures)
	}
	if got := drainValues(t, brokers, "out", n, 10*time.Second); len(got) != n {
		t.Errorf("%d of %d records came out", len(got), n)
	}
}

// metricValue returns the value of the single series of a counter or
// gauge.
func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestExactlyOnceParkedOutputsKeepKeyOrder: in exactly-once mode, records
// whose outputs wait for room in the commit metadata (parked) are sent
// oldest first, so each key's outputs keep the input order; records that
// produce nothing (a filter) are claimed like the others, so the commit
// still fits and no transaction has to abort. A read_committed reader sees
// every kept record once, per key in order.
func TestExactlyOnceParkedOutputsKeepKeyOrder(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	const n, keys, limit = 4000, 40, 160
	produceKeyed(t, brokers, "in", n, keys)
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		i, _ := strconv.Atoi(string(r.Value))
		if i%10 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		if i%3 == 0 {
			return nil, nil
		}
		return passthrough("out")(ctx, r)
	}
	reg := prometheus.NewRegistry()
	p, err := pipeline.New("parked", h, pipeline.Topics("in"), pipeline.Workers(64), pipeline.OffsetMetadataMaxBytes(limit),
		pipeline.MaxInFlight(400, 1<<20), pipeline.CommitInterval(100*time.Millisecond), pipeline.Metrics(reg), pipeline.ExactlyOnce(),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	adm := kadm.NewClient(newClient(t, brokers))
	longest := 0
	waitUntil(t, 60*time.Second, "every record committed", func() bool {
		resp, err := adm.FetchOffsets(context.Background(), "parked")
		if err != nil || resp.Error() != nil {
			return false
		}
		o, ok := resp.Lookup("in", 0)
		longest = max(longest, len(o.Metadata))
		return ok && o.At == n
	})
	holds := metricValue(t, reg, "sluice_processor_metadata_holds_total")
	aborts := metricValue(t, reg, "sluice_processor_transactions_aborted_total")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if holds == 0 {
		t.Error("no record waited for metadata room: the test did not reach the limit")
	}
	if longest > limit || aborts != 0 {
		t.Errorf("longest commit metadata %d bytes (limit %d), %v transactions aborted; want within the limit and none", longest, limit, aborts)
	}
	cl := newClient(t, brokers, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	last := map[string]int{}
	seen, want := 0, n-(n+2)/3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for seen < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			seen++
			i, _ := strconv.Atoi(string(r.Value))
			if prev, ok := last[string(r.Key)]; ok && i <= prev {
				t.Errorf("key %s: output %d after %d", r.Key, i, prev)
			}
			last[string(r.Key)] = i
		})
	}
	if seen != want {
		t.Errorf("%d outputs, want %d (every record not filtered, once)", seen, want)
	}
}
