package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestRunReturnsWithinTheDrainTimeoutWhenAHandlerBlocksForever: a handler
// that ignores its context cannot hold shutdown hostage. Run returns within
// DrainTimeout plus ShutdownMargin, and the blocked record stays
// uncommitted for the next owner.
func TestRunReturnsWithinTheDrainTimeoutWhenAHandlerBlocksForever(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 20, 20)
	entered := make(chan struct{})
	forever := make(chan struct{}) // never closed
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if r.Offset == 0 {
			close(entered)
			<-forever
		}
		return passthrough("out")(ctx, r)
	}
	const drain = time.Second
	p, err := pipeline.New("blocked", h, pipeline.Topics("in"), pipeline.DrainTimeout(drain), pipeline.CommitInterval(20*time.Millisecond),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-entered
	// Records queued behind the blocked one on its worker wait with it;
	// the other worker processes the rest.
	waitUntil(t, 10*time.Second, "other records to be processed", func() bool { return len(drainValues(t, brokers, "out", 1, time.Second)) >= 1 })
	cancel()
	start := time.Now()
	// The bound is the behaviour under test; the slack only absorbs a slow
	// machine. Before handlers were cancellable, Run never returned here.
	limit := drain + pipeline.ShutdownMargin + 5*time.Second
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		t.Logf("Run returned %s after cancel (drain timeout %s, margin %s)", time.Since(start).Round(time.Millisecond), drain, pipeline.ShutdownMargin)
	case <-time.After(limit):
		t.Fatalf("Run did not return within %s of cancel with a handler blocked forever", limit)
	}
	if l := lag(t, brokers, "blocked", "in"); l[0] != 20 {
		t.Errorf("lag after shutdown = %d, want 20: nothing may be committed past the blocked record at offset 0", l[0])
	}
}

// TestHandlerContextIsCancelledWhenTheDrainTimeoutExpires: during the drain
// handlers keep a live context (records fetched are finished, not
// abandoned); when the drain timeout expires their context is cancelled,
// and a handler that honours it lets Run return at once.
func TestHandlerContextIsCancelledWhenTheDrainTimeoutExpires(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 1, 1)
	entered := make(chan struct{})
	var cancelledAfter atomic.Int64
	var stoppedAt atomic.Int64
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		close(entered)
		<-ctx.Done()
		cancelledAfter.Store(time.Now().UnixNano() - stoppedAt.Load())
		return nil, ctx.Err()
	}
	const drain = 500 * time.Millisecond
	p, err := pipeline.New("cancelled", h, pipeline.Topics("in"), pipeline.DrainTimeout(drain),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-entered
	stoppedAt.Store(time.Now().UnixNano())
	cancel()
	select {
	case <-done:
	case <-time.After(drain + pipeline.ShutdownMargin + 5*time.Second):
		t.Fatal("Run did not return")
	}
	got := time.Duration(cancelledAfter.Load())
	if got < drain {
		t.Errorf("handler context cancelled %s after Run's context, before the drain timeout %s: the drain must let handlers finish", got, drain)
	}
	if l := lag(t, brokers, "cancelled", "in"); l[0] != 1 {
		t.Errorf("lag = %d, want 1: the cancelled record must stay uncommitted", l[0])
	}
	if got := drainValues(t, brokers, "in.dlq", 1, time.Second); len(got) != 0 {
		t.Errorf("a record whose handler was cancelled by shutdown was dead-lettered: %v", got)
	}
}

// TestProcessorCanBeRebuiltOnTheSameRegistry: Run unregisters the
// processor's collectors when it returns, so a new processor of the same
// name can be built on the same registry, as Run's doc tells users to do.
func TestProcessorCanBeRebuiltOnTheSameRegistry(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 50, 5)
	reg := prometheus.NewRegistry()
	build := func() *pipeline.Processor {
		t.Helper()
		p, err := pipeline.New("rebuilt", passthrough("out"), pipeline.Topics("in"), pipeline.Metrics(reg), pipeline.CommitInterval(20*time.Millisecond),
			pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
		if err != nil {
			t.Fatalf("New on a registry whose last processor stopped: %v", err)
		}
		return p
	}
	first := build()
	if _, err := pipeline.New("rebuilt", passthrough("out"), pipeline.Topics("in"), pipeline.Metrics(reg),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...))); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("second New while the first is registered: err = %v, want already registered", err)
	}
	stop := run(t, first)
	if got := drainValues(t, brokers, "out", 50, 10*time.Second); len(got) != 50 {
		t.Fatalf("%d of 50 records came out", len(got))
	}
	const want = `
# HELP sluice_processor_records_succeeded_total Input records fully processed (outputs acknowledged).
# TYPE sluice_processor_records_succeeded_total counter
sluice_processor_records_succeeded_total{processor="rebuilt",topic="in"} 50
`
	// Outputs can be read before their producer has the acknowledgement
	// that finishes the record: poll for the count.
	var cmpErr error
	deadline := time.Now().Add(10 * time.Second)
	for cmpErr = errors.New("not compared"); cmpErr != nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cmpErr = testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_processor_records_succeeded_total")
	}
	if cmpErr != nil {
		t.Errorf("while running: %v", cmpErr)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("after Run returned: %d series still registered (err %v), want none", n, err)
	}
	second := build()
	if err := second.Run(canceled()); err != nil {
		t.Errorf("rebuilt processor: %v", err)
	}
	if err := first.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "Run called twice") {
		t.Errorf("second Run of one processor: err = %v, want it refused", err)
	}
}

// TestFailedNewLeavesNothingRegistered: when New cannot register its
// collectors it rolls back the ones it did register.
func TestFailedNewLeavesNothingRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Something else already took one of the processor's metric names.
	squatter := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_processor_commits_total", Help: "Successful offset commits.",
		ConstLabels: prometheus.Labels{"processor": "p"}})
	reg.MustRegister(squatter)
	_, err := pipeline.New("p", passthrough("out"), pipeline.Topics("in"), pipeline.Metrics(reg))
	if err == nil {
		t.Fatal("New succeeded with a conflicting collector registered")
	}
	reg.Unregister(squatter)
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("after a failed New: %d series registered (err %v), want none", n, err)
	}
	if _, err := pipeline.New("p", passthrough("out"), pipeline.Topics("in"), pipeline.Metrics(reg)); err != nil {
		t.Errorf("New after the conflict was removed: %v", err)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
