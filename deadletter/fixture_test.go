package deadletter_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/pipeline/failure"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// cluster is a kfake cluster with helpers to write dead-letter records and
// read topics back.
type cluster struct {
	t    *testing.T
	fake *kafkatest.Fake
	conn []kgo.Opt
	ctx  context.Context
}

func newCluster(t *testing.T, topics map[string]int32) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c := &cluster{t: t, fake: kafkatest.NewFake(t), ctx: ctx}
	c.conn = []kgo.Opt{kgo.SeedBrokers(c.fake.Brokers()...)}
	for name, parts := range topics {
		c.fake.CreateTopic(t, name, parts, nil)
	}
	return c
}

// produce writes recs, each to the partition it names.
func (c *cluster) produce(topic string, recs ...*kgo.Record) {
	c.t.Helper()
	cl := c.fake.Client(c.t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(c.ctx, recs...).FirstErr(); err != nil {
		c.t.Fatalf("produce to %s: %v", topic, err)
	}
}

func (c *cluster) open(topic string) *deadletter.Queue {
	c.t.Helper()
	q, err := deadletter.Open(c.ctx, topic, c.conn...)
	if err != nil {
		c.t.Fatalf("open %s: %v", topic, err)
	}
	c.t.Cleanup(q.Close)
	return q
}

// records reads topic as a read_committed consumer sees it now, ordered by
// partition and offset.
func (c *cluster) records(topic string) []*deadletter.Record {
	c.t.Helper()
	var out []*deadletter.Record
	if _, err := c.open(topic).Read(c.ctx, deadletter.Filter{}, func(r *deadletter.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		c.t.Fatalf("read %s: %v", topic, err)
	}
	slices.SortFunc(out, func(a, b *deadletter.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return out
}

// failed describes a dead-letter record to build.
type failed struct {
	partition    int32 // in the dead-letter topic
	key, class   string
	err          string
	at           time.Time // last failure
	origin       string
	originOffset int64
}

// sluiceRecord builds a dead-letter record as the runtime writes it: the
// original key, value and a header of the application, plus the sluice.*
// error headers.
func sluiceRecord(f failed) *kgo.Record {
	h := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
	return &kgo.Record{
		Partition: f.partition,
		Key:       []byte(f.key),
		Value:     []byte("value of " + f.key),
		Headers: []kgo.RecordHeader{
			h("traceparent", "trace-"+f.key),
			h(failure.HeaderAttempts, "3"),
			h(failure.HeaderErrorClass, f.class),
			h(failure.HeaderError, f.err),
			h(failure.HeaderFirstFailure, f.at.Add(-time.Minute).Format(time.RFC3339Nano)),
			h(failure.HeaderLastFailure, f.at.Format(time.RFC3339Nano)),
			h(failure.HeaderOriginTopic, f.origin),
			h(failure.HeaderOriginPartition, "1"),
			h(failure.HeaderOriginOffset, strconv.FormatInt(f.originOffset, 10)),
			h(failure.HeaderOriginTimestamp, f.at.Add(-2*time.Minute).Format(time.RFC3339Nano)),
			h(failure.HeaderProcessor, "validate"),
		},
	}
}

// connectRecord builds a dead-letter record with Kafka Connect's headers,
// which record no failure time: its timestamp is when it was written.
func connectRecord(partition int32, key, origin, class, msg string, at time.Time) *kgo.Record {
	h := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
	return &kgo.Record{
		Partition: partition,
		Timestamp: at,
		Key:       []byte(key),
		Value:     []byte("value of " + key),
		Headers: []kgo.RecordHeader{
			h("traceparent", "trace-"+key),
			h(failure.ConnectHeaderTopic, origin),
			h(failure.ConnectHeaderPartition, "2"),
			h(failure.ConnectHeaderOffset, "77"),
			h(failure.ConnectHeaderConnectorName, "orders-sink"),
			h(failure.ConnectHeaderTaskID, "0"),
			h(failure.ConnectHeaderStage, "VALUE_CONVERTER"),
			h(failure.ConnectHeaderClassName, class),
			h(failure.ConnectHeaderExceptionMessage, msg),
			h(failure.ConnectHeaderStackTrace, class+": "+msg+"\n\tat Converter.java:42"),
		},
	}
}

func ids(recs []*deadletter.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.ID())
	}
	slices.Sort(out)
	return out
}

func header(r *deadletter.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}
