package pipeline_test

import (
	"context"
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
