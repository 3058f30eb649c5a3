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

	mu    sync.Mutex
	recs  map[string][]verify.Record // by topic
	ranks map[string][]int32         // by topic, beside recs: a status record's rank, else 0
	next  map[string]map[int32]int64 // next offset to read, by topic and partition
	err   error
}

// Collect starts a Collector of the chain's outputs, stopped when the test
// ends.
func (c *Chain) Collect(t testing.TB) *Collector {
	t.Helper()
	topics := []string{c.Topics.Validated, c.Topics.Scored, c.Topics.Decided, c.Topics.Status}
	opts := []kgo.Opt{kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxPartitionBytes(4 << 20)}
	if c.readCommitted {
		// Transaction markers are kept so that a partition ending in one
		// (or in an aborted batch) reads as caught up.
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	cl := c.k.Client(t, opts...)
	serde := newSerde(t)
	ctx, cancel := context.WithCancel(context.Background())
	col := &Collector{
		cl: cl, cancel: cancel, done: make(chan struct{}),
		recs: make(map[string][]verify.Record), ranks: make(map[string][]int32), next: make(map[string]map[int32]int64),
	}
	for _, tp := range topics {
		col.next[tp] = make(map[int32]int64)
	}
	idOf := func(r *kgo.Record) (id string, rank int32, err error) {
		switch r.Topic {
		case c.Topics.Decided:
			d, err := order.DecodeDecided(ctx, serde, r.Value)
			return string(d.Decision), 0, err
		case c.Topics.Status:
			s, err := order.DecodeStatus(ctx, serde, r.Value)
			return string(s.State), s.EffectiveRank(), err
		default:
			return string(r.Key), 0, nil
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
				if r.Attrs.IsControl() {
					col.next[r.Topic][r.Partition] = r.Offset + 1
					return
				}
				id, rank, err := idOf(r)
				if err != nil && col.err == nil {
					col.err = fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
				}
				col.recs[r.Topic] = append(col.recs[r.Topic], verify.Record{
					Key: string(r.Key), ID: id, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				})
				col.ranks[r.Topic] = append(col.ranks[r.Topic], rank)
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

// Regressions are the status records whose rank is below that of the
// record before them of the same order (key): an order that went back, as
// from CONFIRMED to SCORED when a stage redoes an order after a crash.
type Regressions struct {
	Records int      // records that went back
	Orders  int      // orders with at least one
	First   []string // up to 10 of them, "key: CONFIRMED -> SCORED at topic/partition@offset"
}

// regressions counts the regressions in what was read of topic so far. A
// key's records are in one partition, which the collector reads in offset
// order, so consecutive records of a key are consecutive in the log.
func (col *Collector) regressions(topic string) Regressions {
	col.mu.Lock()
	defer col.mu.Unlock()
	type last struct {
		rank  int32
		state string
	}
	prev := map[string]last{}
	orders := map[string]bool{}
	var out Regressions
	for i, r := range col.recs[topic] {
		rank := col.ranks[topic][i]
		if p, ok := prev[r.Key]; ok && rank < p.rank {
			out.Records++
			orders[r.Key] = true
			if len(out.First) < 10 {
				out.First = append(out.First, fmt.Sprintf("%s: %s -> %s at %s/%d@%d", r.Key, p.state, r.ID, r.Topic, r.Partition, r.Offset))
			}
		}
		prev[r.Key] = last{rank, r.ID}
	}
	out.Orders = len(orders)
	return out
}
