package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// committer commits, per owned partition, the first offset that is not
// finished (the window's watermark): every CommitInterval, after a revoke
// and at shutdown. mu serializes commits with rebalance callbacks (see
// rebalancer), so a periodic commit can never land for a partition after
// its revoke finished.
type committer struct {
	interval time.Duration
	log      *slog.Logger
	client   *kgo.Client
	ledger   *ledger
	metrics  *metrics
	mu       sync.Mutex
}

// loop commits every interval until ctx ends.
func (c *committer) loop(ctx context.Context) {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := c.commitAll(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("periodic commit failed; will retry", "err", err)
			}
		}
	}
}

// commitAll commits the watermark of every partition still owned.
func (c *committer) commitAll(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked(ctx, c.ledger.owned())
}

// commitLocked commits the watermarks of parts that moved since their last
// commit. The caller holds mu.
func (c *committer) commitLocked(ctx context.Context, parts []*partState) error {
	toCommit := make(map[string]map[int32]kgo.EpochOffset)
	var states []*partState
	var offs []int64
	for _, ps := range parts {
		ps.mu.Lock()
		off, ok := ps.window.Committable()
		epoch, committed, revoked := ps.epoch, ps.committed, ps.revoked
		ps.mu.Unlock()
		if !ok || off <= committed || revoked {
			continue
		}
		if toCommit[ps.tp.topic] == nil {
			toCommit[ps.tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		toCommit[ps.tp.topic][ps.tp.partition] = kgo.EpochOffset{Epoch: epoch, Offset: off}
		states = append(states, ps)
		offs = append(offs, off)
	}
	if len(states) == 0 {
		return nil
	}
	start := time.Now()
	var commitErr error
	c.client.CommitOffsetsSync(ctx, toCommit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, pt := range t.Partitions {
				if e := kerr.ErrorForCode(pt.ErrorCode); e != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s/%d: %w", t.Topic, pt.Partition, e)
				}
			}
		}
	})
	c.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	if commitErr != nil {
		c.metrics.commitFailures.Inc()
		return fmt.Errorf("commit: %w", commitErr)
	}
	for i, ps := range states {
		ps.mu.Lock()
		ps.committed = offs[i]
		hw := ps.highWatermark
		ps.mu.Unlock()
		part := fmt.Sprint(ps.tp.partition)
		c.metrics.committedOffset.WithLabelValues(ps.tp.topic, part).Set(float64(offs[i]))
		c.metrics.lag.WithLabelValues(ps.tp.topic, part).Set(float64(max(0, hw-offs[i])))
	}
	c.metrics.commits.Inc()
	c.log.Debug("committed", "partitions", toCommit, "took", time.Since(start))
	return nil
}
