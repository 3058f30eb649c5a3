package pipeline

import (
	"context"
	"errors"
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
	metaMax  int // offset.metadata.max.bytes
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
// commit, each with the finished offsets above it in the offset metadata
// (precise resume). The caller holds mu.
func (c *committer) commitLocked(ctx context.Context, parts []*partState) error {
	snap, _ := snapshot(parts, c.metaMax)
	if len(snap) == 0 {
		return nil
	}
	toCommit := make(map[string]map[int32]kgo.EpochOffset)
	meta := make(map[topicPartition]string, len(snap))
	for _, s := range snap {
		if toCommit[s.ps.tp.topic] == nil {
			toCommit[s.ps.tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		toCommit[s.ps.tp.topic][s.ps.tp.partition] = kgo.EpochOffset{Epoch: s.epoch, Offset: s.offset}
		meta[s.ps.tp] = s.meta
	}
	// kgo writes its member ID as metadata by default; ours replaces it.
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				if m, ok := meta[topicPartition{t.Topic, t.Partitions[j].Partition}]; ok {
					t.Partitions[j].Metadata = &m
				}
			}
		}
		return nil
	})
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
	if errors.Is(commitErr, kerr.FencedInstanceID) {
		c.ledger.fail(fmt.Errorf("%w: commit refused: %w", ErrInstanceFenced, commitErr))
	}
	if commitErr != nil {
		c.metrics.commitFailures.Inc()
		return fmt.Errorf("commit: %w", commitErr)
	}
	for _, s := range snap {
		s.ps.committedAt(s.offset, s.meta, c.metrics)
	}
	c.metrics.commits.Inc()
	c.log.Debug("committed", "partitions", toCommit, "took", time.Since(start))
	return nil
}
