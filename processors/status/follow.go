package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrGroupClient means Follow was handed a consumer-group client. A group
// would split the partitions between instances and commit offsets, but every
// instance needs the whole topic from the start.
var ErrGroupClient = errors.New("status view needs a client without a consumer group")

// Follow reads topic from the start into v, marks v ready and calls ready
// (if not nil) once it has caught up with the end offsets the topic had when
// Follow started, then keeps tailing until ctx ends, when it returns nil.
//
// client must be a direct consumer, built without kgo.ConsumerGroup and
// with ClientOpts(topic): from the start, read_committed (records of
// aborted transactions, such as those of a fenced exactly-once instance,
// never show), keeping transaction markers (so that a partition ending in
// one is still seen to be caught up). Follow owns the client's polling while
// it runs; the caller closes the client after Follow returns.
//
// A record that cannot be applied (undecodable, or keyed by something other
// than its order ID) is logged and skipped: one bad record in a compacted
// topic must not keep every future instance from starting.
func Follow(ctx context.Context, client *kgo.Client, topic string, v *View, ready func()) error {
	if g, _ := client.OptValue(kgo.ConsumerGroup).(string); g != "" {
		return fmt.Errorf("follow %s with group %q: %w", topic, g, ErrGroupClient)
	}
	keep, _ := client.OptValue(kgo.KeepControlRecords).(bool)
	// kgo keeps the isolation level as Kafka's int8: 1 is read_committed.
	isolation, _ := client.OptValue(kgo.FetchIsolationLevel).(int8)
	if !keep || isolation != 1 {
		return fmt.Errorf("follow %s: the client must read committed records and keep transaction markers: build it with status.ClientOpts", topic)
	}
	behind, err := endOffsets(ctx, kadm.NewClient(client), topic)
	if err != nil {
		return err
	}
	markReady := func() {
		v.ready.Store(true)
		if ready != nil {
			ready()
		}
	}
	if len(behind) == 0 {
		markReady()
	}
	for {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return fmt.Errorf("follow %s: %w", topic, kgo.ErrClientClosed)
		}
		fetches.EachError(func(t string, p int32, err error) {
			slog.WarnContext(ctx, "status view fetch failed", "topic", t, "partition", p, "err", err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Attrs.IsControl() {
				// A transaction marker: nothing to apply, but its offset
				// counts towards catching up.
			} else if err := v.Apply(ctx, r.Key, r.Value); err != nil {
				slog.ErrorContext(ctx, "status view skipped record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
			}
			if end, ok := behind[r.Partition]; ok && r.Offset+1 >= end {
				delete(behind, r.Partition)
				if len(behind) == 0 {
					markReady()
				}
			}
		})
	}
}

// ClientOpts are the options Follow needs its client built with, on top of
// the caller's seed brokers, TLS and so on.
func ClientOpts(topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}
}

// endOffsets returns, for each partition of topic that has records, the
// offset Follow must read up to before the view is ready. Empty partitions
// (start == end, including ones compacted or deleted down to nothing) are
// left out, since no record will ever arrive to mark them done.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	behind := make(map[int32]int64)
	ends.Each(func(e kadm.ListedOffset) {
		if s, ok := starts.Lookup(e.Topic, e.Partition); !ok || s.Offset < e.Offset {
			behind[e.Partition] = e.Offset
		}
	})
	return behind, nil
}
