package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// A processor that upper-cases every value from topic "words" into topic
// "shouted". It runs until its context is cancelled, then drains, commits
// and leaves the group.
func ExampleNew() {
	broker, _ := kfake.NewCluster(kfake.SeedTopics(3, "words", "shouted"))
	defer broker.Close()
	seed := kgo.SeedBrokers(broker.ListenAddrs()...)

	producer, _ := kgo.NewClient(seed)
	defer producer.Close()
	for _, w := range []string{"flow", "gate", "weir"} {
		producer.ProduceSync(context.Background(), &kgo.Record{Topic: "words", Key: []byte(w), Value: []byte(w)})
	}

	shout := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		return []pipeline.Output{{Topic: "shouted", Key: r.Key, Value: bytes.ToUpper(r.Value)}}, nil
	}
	p, err := pipeline.New("shouter", shout,
		pipeline.Topics("words"),
		pipeline.ClientOptions(seed),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()

	consumer, _ := kgo.NewClient(seed, kgo.ConsumeTopics("shouted"))
	defer consumer.Close()
	var got []string
	for len(got) < 3 {
		consumer.PollFetches(context.Background()).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	cancel()
	fmt.Println("stopped:", <-done)
	sort.Strings(got)
	fmt.Println(got)
	// Output:
	// stopped: <nil>
	// [FLOW GATE WEIR]
}

// With KeyOrder (the default), records of one key run strictly one after the
// other while different keys run in parallel, even within one partition.
// PartitionOrder runs one record at a time per partition; Unordered runs
// anything in parallel. Commits never pass an unfinished record in any mode.
func ExampleOrderBy() {
	slowWork := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		time.Sleep(time.Millisecond) // a call to a slow service, say
		return nil, nil
	}
	_, err := pipeline.New("enricher", slowWork,
		pipeline.Topics("events"),
		pipeline.OrderBy(pipeline.KeyOrder),
		pipeline.Workers(32), // I/O-bound: more workers than cores
		pipeline.MaxInFlight(50_000, 128<<20),
		pipeline.ClientOptions(kgo.SeedBrokers("localhost:9092")),
	)
	fmt.Println(err)
	// Output: <nil>
}

// A light handler returns Record.Outputs instead of a slice literal: the
// slice is the worker's, reused for its next record, so routing a record
// allocates nothing per record. Here each reading goes to the topic of its
// level, and readings below 10 are filtered out (no outputs: the record is
// done, and its offset committed).
func ExampleRecord_Outputs() {
	route := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		switch {
		case len(r.Value) < 2:
			return nil, nil
		case r.Value[0] >= '5':
			return r.Outputs(pipeline.Output{Topic: "high", Key: r.Key, Value: r.Value}), nil
		default:
			return r.Outputs(pipeline.Output{Topic: "normal", Key: r.Key, Value: r.Value}), nil
		}
	}
	for _, v := range []string{"7", "42", "77"} {
		outs, _ := route(context.Background(), &pipeline.Record{Value: []byte(v)})
		for _, o := range outs {
			fmt.Println(v, "->", o.Topic)
		}
	}
	// Output:
	// 42 -> normal
	// 77 -> high
}

// ParseOrdering turns the --ordering flag into a mode.
func ExampleParseOrdering() {
	for _, s := range []string{"key", "partition", "unordered", "random"} {
		o, err := pipeline.ParseOrdering(s)
		fmt.Println(o, err)
	}
	// Output:
	// key <nil>
	// partition <nil>
	// unordered <nil>
	// key unknown ordering "random": want key, partition or unordered
}

// Middleware wraps every handler call: here it counts calls and tags
// failures with the record's key. Panic recovery sits outside it, so a
// panicking middleware cannot crash the processor either.
func ExampleUse() {
	var calls int
	counting := func(next pipeline.Handler) pipeline.Handler {
		return func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
			calls++ // one worker in this example; use an atomic with more
			outs, err := next(ctx, r)
			if err != nil {
				err = fmt.Errorf("key %s: %w", r.Key, err)
			}
			return outs, err
		}
	}
	_, err := pipeline.New("counted", passthrough("out"),
		pipeline.Topics("in"),
		pipeline.Workers(1),
		pipeline.Use(counting),
		pipeline.HandlerTimeout(time.Second), // applies inside the user's middleware
	)
	fmt.Println(err)
	// Output: <nil>
}
