package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitLoop commits finished offsets every CommitInterval until ctx ends.
func (p *Processor) commitLoop(ctx context.Context) {
	tick := time.NewTicker(p.cfg.commitInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := p.commitAll(ctx); err != nil && ctx.Err() == nil {
				p.cfg.logger.Warn("periodic commit failed; will retry", "processor", p.cfg.name, "err", err)
			}
		}
	}
}

// commitAll commits the watermark of every partition still owned.
func (p *Processor) commitAll(ctx context.Context) error {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	return p.commitLocked(ctx, func(*partState) bool { return true })
}

// commitLocked commits the watermarks of the owned partitions that match and
// moved since their last commit. The caller holds commitMu.
func (p *Processor) commitLocked(ctx context.Context, match func(*partState) bool) error {
	toCommit := make(map[string]map[int32]kgo.EpochOffset)
	var states []*partState
	var offs []int64
	p.mu.Lock()
	for _, ps := range p.parts {
		if !match(ps) {
			continue
		}
		off, ok := ps.window.Committable()
		if !ok || off <= ps.committed {
			continue
		}
		if toCommit[ps.tp.topic] == nil {
			toCommit[ps.tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		toCommit[ps.tp.topic][ps.tp.partition] = kgo.EpochOffset{Epoch: ps.epoch, Offset: off}
		states = append(states, ps)
		offs = append(offs, off)
	}
	p.mu.Unlock()
	if len(states) == 0 {
		return nil
	}
	start := time.Now()
	var commitErr error
	p.client.CommitOffsetsSync(ctx, toCommit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
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
	p.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	if commitErr != nil {
		p.metrics.commitFailures.Inc()
		return fmt.Errorf("commit: %w", commitErr)
	}
	p.mu.Lock()
	for i, ps := range states {
		ps.committed = offs[i]
		part := fmt.Sprint(ps.tp.partition)
		p.metrics.committedOffset.WithLabelValues(ps.tp.topic, part).Set(float64(offs[i]))
		p.metrics.lag.WithLabelValues(ps.tp.topic, part).Set(float64(max(0, ps.highWatermark-offs[i])))
	}
	p.mu.Unlock()
	p.metrics.commits.Inc()
	return nil
}

func (p *Processor) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	n := 0
	for topic, parts := range assigned {
		for _, part := range parts {
			tp := topicPartition{topic, part}
			p.parts[tp] = p.newPartState(tp)
			n++
		}
	}
	total := len(p.parts)
	p.mu.Unlock()
	p.metrics.rebalances.Inc()
	p.metrics.assigned.Set(float64(total))
	p.cfg.logger.Info("partitions assigned", "processor", p.cfg.name, "added", n, "owned", total, "partitions", assigned)
}

// onRevoked runs inside the rebalance: it starts nothing new for the revoked
// partitions, drops their queued records, waits (bounded) for their running
// records, commits what finished, and forgets them.
func (p *Processor) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.release(ctx, revoked, true)
}

// onLost is like onRevoked, but the partitions already belong to someone
// else, so nothing is committed.
func (p *Processor) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	p.release(ctx, lost, false)
}

func (p *Processor) release(ctx context.Context, parts map[string][]int32, commit bool) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	gone := make(map[*partState]bool)
	p.mu.Lock()
	for topic, ps := range parts {
		for _, part := range ps {
			if st := p.parts[topicPartition{topic, part}]; st != nil {
				gone[st] = true
			}
		}
	}
	p.mu.Unlock()
	p.forgetPaths()
	if len(gone) == 0 {
		return
	}
	p.mu.Lock()
	for st := range gone {
		p.ungateLocked(st)
	}
	p.mu.Unlock()
	dropped := p.dropQueued(func(t *task) bool { return gone[t.part] })
	waitCtx, cancel := context.WithTimeout(ctx, p.cfg.revokeTimeout)
	finished := p.waitFor(waitCtx, func() bool {
		for st := range gone {
			if st.inflight > 0 {
				return false
			}
		}
		return true
	})
	cancel()
	if !finished {
		p.cfg.logger.Warn("revoke: records still running after timeout; they stay uncommitted", "processor", p.cfg.name, "timeout", p.cfg.revokeTimeout)
	}
	var err error
	if commit {
		err = p.commitLocked(ctx, func(st *partState) bool { return gone[st] })
	}
	p.mu.Lock()
	for st := range gone {
		st.revoked = true
		delete(p.parts, st.tp)
		p.metrics.committedOffset.DeleteLabelValues(st.tp.topic, fmt.Sprint(st.tp.partition))
		p.metrics.lag.DeleteLabelValues(st.tp.topic, fmt.Sprint(st.tp.partition))
	}
	total := len(p.parts)
	p.mu.Unlock()
	p.metrics.assigned.Set(float64(total))
	what := "revoked"
	if !commit {
		what = "lost"
	}
	p.cfg.logger.Info("partitions "+what, "processor", p.cfg.name, "partitions", parts, "dropped_queued", dropped, "owned", total, "commit_err", err)
}
