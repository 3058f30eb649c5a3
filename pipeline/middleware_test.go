package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/failure"
)

// TestMiddlewareWrapsTheHandlerOutermostFirst: Use's middleware runs in
// the order given around the handler, and HandlerTimeout's deadline is
// visible inside all of it.
func TestMiddlewareWrapsTheHandlerOutermostFirst(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 1, 1)
	var mu sync.Mutex
	var trace []string
	note := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	mw := func(name string) pipeline.Middleware {
		return func(next pipeline.Handler) pipeline.Handler {
			return func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
				note(name + " in")
				defer note(name + " out")
				return next(ctx, r)
			}
		}
	}
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if _, ok := ctx.Deadline(); !ok {
			note("no deadline")
		}
		note("handler")
		return passthrough("out")(ctx, r)
	}
	p, err := pipeline.New("mw", h, pipeline.Topics("in"), pipeline.Use(mw("a"), mw("b")), pipeline.HandlerTimeout(time.Minute),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	drainValues(t, brokers, "out", 1, 10*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"a in", "b in", "handler", "b out", "a out"}
	mu.Lock()
	defer mu.Unlock()
	if len(trace) != len(want) {
		t.Fatalf("calls %v, want %v", trace, want)
	}
	for i := range want {
		if trace[i] != want[i] {
			t.Fatalf("calls %v, want %v", trace, want)
		}
	}
}

// TestAPanicInMiddlewareIsRecoveredAndDeadLettered: the built-in recovery
// is outside user middleware, so a panic there is a failed record (class
// panic, in the dead-letter topic), not a crashed processor.
func TestAPanicInMiddlewareIsRecoveredAndDeadLettered(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out", "in.dlq")
	produceKeyed(t, brokers, "in", 1, 1)
	boom := func(pipeline.Handler) pipeline.Handler {
		return func(context.Context, *pipeline.Record) ([]pipeline.Output, error) { panic("middleware bug") }
	}
	p, err := pipeline.New("mwpanic", passthrough("out"), pipeline.Topics("in"), pipeline.Use(boom),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	cl := newClient(t, brokers, kgo.ConsumeTopics("in.dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got *kgo.Record
	for got == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = r })
	}
	if err := stop(); err != nil {
		t.Fatalf("processor stopped with %v; a panic must be routed, not fatal", err)
	}
	if got == nil {
		t.Fatal("no dead-letter record")
	}
	f, _ := failure.Decode(got.Headers)
	if f.Class != "panic" || f.Error != "handler panicked: middleware bug" {
		t.Errorf("dead-letter headers say class %q, error %q; want panic, handler panicked: middleware bug", f.Class, f.Error)
	}
}
