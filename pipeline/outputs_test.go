package pipeline_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline"
)

// producedCounts watches produce requests arriving at the broker and checks
// that, whenever records for topic "second" arrive, at least as many
// records for topic "first" arrived in earlier requests: each record's
// second output may only be sent once its first was acknowledged.
type producedCounts struct {
	ids        map[[16]byte]string // newer produce requests name topics by ID
	mu         sync.Mutex
	first      int // records of "first" in requests already answered
	second     int
	violations int
	unreadable int
}

func (pc *producedCounts) observe(req *kmsg.ProduceRequest) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	var first, second int
	for _, tp := range req.Topics {
		if tp.Topic == "" {
			tp.Topic = pc.ids[tp.TopicID]
		}
		for _, p := range tp.Partitions {
			var b kmsg.RecordBatch
			if err := b.ReadFrom(p.Records); err != nil {
				pc.unreadable++
				continue
			}
			switch tp.Topic {
			case "first":
				first += int(b.NumRecords)
			case "second":
				second += int(b.NumRecords)
			}
		}
	}
	pc.second += second
	if pc.second > pc.first {
		pc.violations++
	}
	pc.first += first
}

func runOrderedOutputs(t *testing.T, opts ...pipeline.Option) (violations int) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "in", "first", "second"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	const n = 2000
	produceKeyed(t, brokers, "in", n, n)
	pc := producedCounts{ids: map[[16]byte]string{}}
	details, err := kadm.NewClient(newClient(t, brokers)).ListTopics(context.Background(), "first", "second")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		pc.ids[d.ID] = d.Topic
	}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pc.observe(req.(*kmsg.ProduceRequest))
		return nil, nil, false
	})
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		return []pipeline.Output{{Topic: "first", Key: r.Key, Value: r.Value}, {Topic: "second", Key: r.Key, Value: r.Value}}, nil
	}
	p, err := pipeline.New("ordered", h, append([]pipeline.Option{pipeline.Topics("in"), pipeline.Logger(quiet),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...), kgo.ProducerBatchCompression(kgo.NoCompression()))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	if got := len(drainValues(t, brokers, "second", n, 30*time.Second)); got != n {
		t.Fatalf("%d of %d second outputs arrived", got, n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if pc.unreadable > 0 || pc.second < n {
		t.Fatalf("saw %d records for second in produce requests (%d batches unreadable), want at least %d", pc.second, pc.unreadable, n)
	}
	return pc.violations
}

// TestOutputsAreProducedInOrder: by default a record's second output
// reaches the broker only after its first was acknowledged. The same
// check with ConcurrentOutputs shows the check can fail.
func TestOutputsAreProducedInOrder(t *testing.T) {
	if v := runOrderedOutputs(t); v != 0 {
		t.Fatalf("%d produce requests carried second outputs before their first outputs were acknowledged", v)
	}
	if v := runOrderedOutputs(t, pipeline.ConcurrentOutputs()); v == 0 {
		t.Fatalf("with ConcurrentOutputs no request ever carried a second output early: the check cannot tell")
	}
}

// TestRecordOutputsReusesItsStorage: Outputs returns its arguments, a second
// call replaces the first's, and once the storage has grown a call
// allocates nothing.
func TestRecordOutputsReusesItsStorage(t *testing.T) {
	var r pipeline.Record
	a := pipeline.Output{Topic: "a", Value: []byte("1")}
	b := pipeline.Output{Topic: "b", Value: []byte("2")}
	if got := r.Outputs(a, b); len(got) != 2 || got[0].Topic != "a" || got[1].Topic != "b" {
		t.Fatalf("Outputs(a, b) = %+v", got)
	}
	if got := r.Outputs(b); len(got) != 1 || got[0].Topic != "b" {
		t.Fatalf("a second call returned %+v, want just b", got)
	}
	if got := r.Outputs(); len(got) != 0 {
		t.Fatalf("Outputs() = %+v, want none", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Outputs(a, b) }); n != 0 {
		t.Fatalf("Outputs allocated %.1f times per call once grown, want 0", n)
	}
}

// TestOutputsOfEveryRecordArriveIntact: handlers returning Record.Outputs
// (one output, two, or none, by record) on several workers, and Typed,
// which uses the same storage: every record's outputs reach the output
// topic with its own values, none overwritten by a later record's.
func TestOutputsOfEveryRecordArriveIntact(t *testing.T) {
	brokers := fakeKafka(t, 4, "in", "out", "typed")
	const n = 3000
	produceKeyed(t, brokers, "in", n, 50)
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		i, err := strconv.Atoi(string(r.Value))
		if err != nil {
			return nil, err
		}
		v := "one-" + string(r.Value)
		switch i % 3 {
		case 0:
			return r.Outputs(pipeline.Output{Topic: "out", Key: r.Key, Value: []byte(v)}), nil
		case 1:
			return r.Outputs(pipeline.Output{Topic: "out", Key: r.Key, Value: []byte(v)},
				pipeline.Output{Topic: "out", Key: r.Key, Value: []byte("two-" + string(r.Value))}), nil
		}
		_ = r.Outputs(pipeline.Output{Topic: "out", Value: []byte("never")})
		return r.Outputs(), nil // replaces the call before: nothing is produced
	}
	typed := pipeline.Typed[string, string](stringCodec{}, stringCodec{}, func(_ context.Context, v string) ([]pipeline.Message[string], error) {
		return []pipeline.Message[string]{{Topic: "typed", Value: "t-" + v}}, nil
	})
	for _, p := range []struct {
		group string
		h     pipeline.Handler
	}{{"outputs", h}, {"typed", typed}} {
		proc, err := pipeline.New(p.group, p.h, pipeline.Topics("in"), pipeline.Workers(4), pipeline.Logger(quiet),
			pipeline.ClientOptions(kgo.SeedBrokers(brokers...)))
		if err != nil {
			t.Fatal(err)
		}
		stop := run(t, proc)
		defer func() { _ = stop() }()
	}
	want := map[string]int{}
	for i := 0; i < n; i++ {
		switch i % 3 {
		case 0:
			want[fmt.Sprintf("one-%d", i)] = 1
		case 1:
			want[fmt.Sprintf("one-%d", i)] = 1
			want[fmt.Sprintf("two-%d", i)] = 1
		}
	}
	got := drainValues(t, brokers, "out", len(want), 30*time.Second)
	for v, k := range got {
		if want[v] != k {
			t.Errorf("out holds %q %d times, want %d", v, k, want[v])
		}
	}
	if len(got) != len(want) {
		t.Errorf("out holds %d distinct values, want %d", len(got), len(want))
	}
	typedGot := drainValues(t, brokers, "typed", n, 30*time.Second)
	for i := 0; i < n; i++ {
		if v := fmt.Sprintf("t-%d", i); typedGot[v] != 1 {
			t.Errorf("typed holds %q %d times, want once", v, typedGot[v])
		}
	}
}

type stringCodec struct{}

func (stringCodec) Decode(_ context.Context, b []byte) (string, error) { return string(b), nil }
func (stringCodec) Encode(_ context.Context, v string) ([]byte, error) { return []byte(v), nil }
