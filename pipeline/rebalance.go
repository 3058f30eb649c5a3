package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
	"github.com/sluice-dev/sluice/pipeline/internal/schedule"
)

// rebalancer holds the partition-assignment callbacks. kgo runs them
// between the fetcher's polls (BlockRebalanceOnPoll), never while a polled
// batch is half dispatched.
type rebalancer struct {
	revokeTimeout time.Duration
	log           *slog.Logger
	ledger        *ledger
	queue         *schedule.Queue[*task]
	gates         *retry.Gates
	router        *retry.Router
	committer     *committer
	metrics       *metrics
	group         string
	gate          *txnGate // exactly-once mode; nil otherwise
	// transactional: commits happen only in transactions (exactly-once);
	// a revoke makes the current one abort instead.
	transactional bool
	// noWait is set at shutdown once the drain is over: a revoke then
	// commits what finished without waiting for running records again.
	noWait atomic.Bool
}

// onAssigned starts bookkeeping for the new partitions, with the finished
// offsets their last owner's commit metadata names, so that they are not
// processed again.
func (r *rebalancer) onAssigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	committed, err := r.committedOffsets(ctx, cl, assigned)
	if err != nil {
		// Without them the records the last owner finished above its
		// watermark run again: duplicates, never losses.
		r.log.Warn("cannot read the commit metadata of the assigned partitions; records finished by their last owner will be processed again", "err", err)
	}
	owned, skipped := r.ledger.assign(assigned, committed)
	r.metrics.rebalances.Inc()
	r.metrics.assigned.Set(float64(owned))
	r.log.Info("partitions assigned", "owned", owned, "partitions", assigned, "finished_by_last_owner", skipped)
}

// committedOffsets reads the group's committed offsets and metadata of the
// assigned partitions, waiting for pending transactional commits.
func (r *rebalancer) committedOffsets(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) (map[topicPartition]groupCommit, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(kadm.RequireStable(ctx), r.group)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil, nil // a new group: nothing committed yet
	}
	if err != nil {
		return nil, err
	}
	out := map[topicPartition]groupCommit{}
	for topic, parts := range assigned {
		for _, p := range parts {
			if o, ok := resp.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
				out[topicPartition{topic, p}] = groupCommit{at: o.At, meta: o.Metadata}
			}
		}
	}
	return out, nil
}

// onRevoked starts nothing new for the revoked partitions, drops their
// queued records, waits (bounded) for their running records, commits what
// finished, and forgets them.
func (r *rebalancer) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	r.release(ctx, revoked, true)
}

// onLost is like onRevoked, but the partitions already belong to someone
// else, so nothing is committed.
func (r *rebalancer) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.release(ctx, lost, false)
}

func (r *rebalancer) release(ctx context.Context, parts map[string][]int32, commit bool) {
	r.committer.mu.Lock()
	defer r.committer.mu.Unlock()
	gone := r.ledger.lookup(parts)
	r.router.Forget()
	if len(gone) == 0 {
		return
	}
	for ps := range gone {
		r.gates.Open(ps.tp.topic, ps.tp.partition)
	}
	dropped := dropQueued(r.queue, r.ledger, func(t *task) bool { return gone[t.part] })
	if r.gate != nil {
		for ps := range gone {
			r.gate.dropParked(ps) // their outputs would go into a transaction that aborts
		}
	}
	wait := r.revokeTimeout
	if r.noWait.Load() {
		wait = 0
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	finished := r.ledger.waitFor(waitCtx, func() bool {
		for ps := range gone {
			ps.mu.Lock()
			n := ps.inflight
			ps.mu.Unlock()
			if n > 0 {
				return false
			}
		}
		return true
	})
	cancel()
	if !finished {
		r.log.Warn("revoke: records still running after RevokeTimeout; they stay uncommitted", "revoke_timeout", r.revokeTimeout)
	}
	var err error
	if commit && !r.transactional {
		list := make([]*partState, 0, len(gone))
		for ps := range gone {
			list = append(list, ps)
		}
		err = r.committer.commitLocked(ctx, list)
	}
	owned := r.ledger.forget(gone)
	if r.gate != nil {
		for ps := range gone {
			r.gate.dropParked(ps) // parked while the revoke waited
		}
	}
	for ps := range gone {
		part := fmt.Sprint(ps.tp.partition)
		r.metrics.committedOffset.DeleteLabelValues(ps.tp.topic, part)
		r.metrics.lag.DeleteLabelValues(ps.tp.topic, part)
	}
	r.metrics.assigned.Set(float64(owned))
	what := "revoked"
	if !commit {
		what = "lost"
	}
	r.log.Info("partitions "+what, "partitions", parts, "dropped_queued", dropped, "owned", owned, "commit_err", err)
}
