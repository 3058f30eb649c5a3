package orderchain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/verify"
	"github.com/sluice-dev/sluice/processors/order"
)

// Collector reads the chain's output topics from the start, as a plain
// consumer outside any group, and keeps every record it sees: the
// key, where it was, and an ID for pipeline/verify (the order ID for
// orders.validated and orders.scored, the decision for orders.decided, the
// state for order-status). Its goroutine owns the client; mu guards the
// records and positions, which the test goroutine reads.
type Collector struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	recs map[string][]verify.Record // by topic
	next map[string]map[int32]int64 // next offset to read, by topic and partition
	err  error
}

// Collect starts a Collector of the chain's outputs, stopped when the test
// ends.
func (c *Chain) Collect(t testing.TB) *Collector {
	t.Helper()
	topics := []string{c.Topics.Validated, c.Topics.Scored, c.Topics.Decided, c.Topics.Status}
	cl := c.k.Client(t, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(4<<20))
	serde := newSerde(t)
	ctx, cancel := context.WithCancel(context.Background())
	col := &Collector{
		cl: cl, cancel: cancel, done: make(chan struct{}),
		recs: make(map[string][]verify.Record), next: make(map[string]map[int32]int64),
	}
	for _, tp := range topics {
		col.next[tp] = make(map[int32]int64)
	}
	idOf := func(r *kgo.Record) (string, error) {
		switch r.Topic {
		case c.Topics.Decided:
			d, err := order.DecodeDecided(ctx, serde, r.Value)
			return string(d.Decision), err
		case c.Topics.Status:
			s, err := order.DecodeStatus(ctx, serde, r.Value)
			return string(s.State), err
		default:
			return string(r.Key), nil
		}
	}
	go func() {
		defer close(col.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Logf("orderchain: collect %s/%d: %v (retrying)", topic, p, err)
				}
			})
			col.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				id, err := idOf(r)
				if err != nil && col.err == nil {
					col.err = fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
				}
				col.recs[r.Topic] = append(col.recs[r.Topic], verify.Record{
					Key: string(r.Key), ID: id, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				})
				col.next[r.Topic][r.Partition] = r.Offset + 1
			})
			col.mu.Unlock()
		}
	}()
	t.Cleanup(col.stop)
	return col
}

func (col *Collector) stop() {
	col.cancel()
	<-col.done
}

// Records returns a copy of what was read from topic so far, each
// partition's records in offset order.
func (col *Collector) Records(topic string) []verify.Record {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]verify.Record(nil), col.recs[topic]...)
}

// Count returns how many records were read from topic so far.
func (col *Collector) Count(topic string) int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.recs[topic])
}

// caughtUp reports whether the collector has read every partition of every
// topic in ends up to its end offset.
func (col *Collector) caughtUp(ends map[string]map[int32]int64) error {
	col.mu.Lock()
	defer col.mu.Unlock()
	if col.err != nil {
		return fmt.Errorf("undecodable output: %w", col.err)
	}
	for topic, parts := range ends {
		for p, end := range parts {
			if got := col.next[topic][p]; got < end {
				return fmt.Errorf("collector at %s/%d@%d, end %d", topic, p, got, end)
			}
		}
	}
	return nil
}
