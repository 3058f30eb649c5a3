package kafkatest_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// produce writes the values "from".."from+n-1" to topic with acks=all and
// idempotence (kgo's defaults, spelled out), failing t on any error.
func produce(t *testing.T, c kafkatest.Cluster, topic string, from, n int) {
	t.Helper()
	cl := c.Client(t, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i % 7)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s: %v", n, topic, err)
	}
}

// consumeAll reads topic from the start until it has seen exactly the
// values 0..want-1, each once, failing t on a duplicate, a stranger, or a
// deadline.
func consumeAll(t *testing.T, c kafkatest.Cluster, topic string, want int) {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := make(map[int]bool, want)
	for len(seen) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: %d of %d records before %v", topic, len(seen), want, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Logf("consume %s/%d: %v (retrying)", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			v, err := strconv.Atoi(string(r.Value))
			if err != nil || v < 0 || v >= want {
				t.Fatalf("consume %s: unexpected value %q at %d/%d", topic, r.Value, r.Partition, r.Offset)
			}
			if seen[v] {
				t.Fatalf("consume %s: value %d twice (again at %d/%d)", topic, v, r.Partition, r.Offset)
			}
			seen[v] = true
		})
	}
}
