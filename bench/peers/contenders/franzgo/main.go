// Command franzgo is the benchmark's baseline: the consume → handle →
// produce → commit loop a franz-go user writes by hand, one goroutine per
// partition, at-least-once. The poll loop hands each partition's records to
// that partition's goroutine, which runs the handler on them in order,
// produces the outputs, waits for their acks and only then marks the batch
// for the periodic commit; a revoked partition's goroutine is stopped and
// its marks committed before the rebalance goes on.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/spec"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
)

func main() {
	var c spec.Common
	fs := flag.NewFlagSet("franzgo", flag.ExitOnError)
	c.Register(fs)
	_ = fs.Parse(os.Args[1:])
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "franzgo:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "franzgo:", err)
		os.Exit(1)
	}
}

type tp struct {
	topic     string
	partition int32
}

// loop owns the partition goroutines. parts is touched by the poll loop
// and by the rebalance callbacks, never at once: BlockRebalanceOnPoll holds
// rebalances from the moment PollRecords returns until AllowRebalance.
type loop struct {
	c     spec.Common
	cl    *kgo.Client
	parts map[tp]*partition
	fail  chan error
}

type partition struct {
	recs chan []*kgo.Record
	quit chan struct{}
	done chan struct{}
}

func run(ctx context.Context, c spec.Common) error {
	l := &loop{c: c, parts: make(map[tp]*partition), fail: make(chan error, 1)}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.BrokerList()...),
		kgo.ConsumerGroup(c.Group),
		kgo.ConsumeTopics(c.Input),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(c.CommitInterval),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(l.assigned),
		kgo.OnPartitionsRevoked(l.revoked),
		kgo.OnPartitionsLost(l.revoked),
	)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	l.cl = cl
	// With BlockRebalanceOnPoll, a plain Close would wait forever for the
	// rebalance that leaving the group starts.
	defer cl.CloseAllowingRebalance()
	for {
		fs := cl.PollRecords(ctx, 10_000)
		if fs.IsClientClosed() || ctx.Err() != nil {
			break
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		var batches []kgo.FetchTopicPartition
		fs.EachPartition(func(p kgo.FetchTopicPartition) { batches = append(batches, p) })
		for _, p := range batches {
			if len(p.Records) == 0 {
				continue
			}
			select {
			case l.parts[tp{p.Topic, p.Partition}].recs <- p.Records:
			case err := <-l.fail:
				return err
			}
		}
		cl.AllowRebalance()
		select {
		case err := <-l.fail:
			return err
		default:
		}
	}
	// Shutting down: stop every partition, then commit what they marked.
	l.stopAll(context.Background())
	return nil
}

func (l *loop) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	for topic, ps := range assigned {
		for _, p := range ps {
			pt := &partition{recs: make(chan []*kgo.Record, 4), quit: make(chan struct{}), done: make(chan struct{})}
			l.parts[tp{topic, p}] = pt
			go l.consume(pt)
		}
	}
}

func (l *loop) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	var wg sync.WaitGroup
	for topic, ps := range revoked {
		for _, p := range ps {
			pt, ok := l.parts[tp{topic, p}]
			if !ok { // already stopped (the final revoke of Close)
				continue
			}
			delete(l.parts, tp{topic, p})
			close(pt.quit)
			wg.Add(1)
			go func() { defer wg.Done(); <-pt.done }()
		}
	}
	wg.Wait()
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		l.failWith(fmt.Errorf("commit on revoke: %w", err))
	}
}

func (l *loop) stopAll(ctx context.Context) {
	all := make(map[string][]int32)
	for k := range l.parts {
		all[k.topic] = append(all[k.topic], k.partition)
	}
	l.revoked(ctx, l.cl, all)
}

// consume is one partition's goroutine.
func (l *loop) consume(pt *partition) {
	defer close(pt.done)
	for {
		select {
		case <-pt.quit:
			return
		case recs := <-pt.recs:
			var wg sync.WaitGroup
			var mu sync.Mutex
			var perr error
			for _, r := range recs {
				wg.Add(1)
				out := &kgo.Record{Topic: l.c.Output, Key: r.Key, Value: work.Apply(r.Value, l.c.K, l.c.Sleep)}
				l.cl.Produce(context.Background(), out, func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						perr = err
						mu.Unlock()
					}
					wg.Done()
				})
			}
			wg.Wait()
			if perr != nil {
				l.failWith(fmt.Errorf("produce: %w", perr))
				return
			}
			l.cl.MarkCommitRecords(recs...)
		}
	}
}

func (l *loop) failWith(err error) {
	select {
	case l.fail <- err:
	default:
	}
}
