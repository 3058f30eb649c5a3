package pipeline

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnGate is exactly-once mode's produce gate. A record's outputs are
// produced inside one transaction: admit takes a read lock before the first
// output, leave drops it when the record settles, and the transactor takes
// the write lock to end a transaction, so every record with outputs in the
// ending transaction is finished (and named in the committed offsets) when
// it commits.
//
// Admission also claims the record in its partition's commit metadata
// (partState.claimLocked): the exact encoding of the finished records and
// those admitted, which is what the commit will carry, stays within the
// broker's limit. A record that does not fit is parked, in offset order,
// with no worker waiting: one goroutine per partition sends parked outputs,
// oldest first, as records of the partition settle and the watermark moves.
// The record at the watermark always fits, so a partition always moves on,
// and a record never overtakes a parked one with a lower offset, which
// keeps a key's outputs in order.
type txnGate struct {
	mu      sync.RWMutex
	metaMax int
	holds   prometheus.Counter
	// closed is set, under mu's write lock, when no transaction follows
	// the one that ended: nothing may be produced any more.
	closed bool
	// abort is set when an output failed because of the transaction, not
	// the record: the transaction must abort (its records run again);
	// reset when the producer's epoch is gone too and only a new client
	// can go on.
	abort, reset atomic.Bool
}

// absorbs reports whether a produce error belongs to the transaction
// rather than to the record (which then settles unfinished, to run again
// after the abort), and notes what the transaction's end must do.
func (g *txnGate) absorbs(err error) bool {
	switch {
	case errors.Is(err, kerr.InvalidProducerEpoch), errors.Is(err, kerr.ProducerFenced),
		errors.Is(err, kerr.InvalidProducerIDMapping), errors.Is(err, kerr.UnknownProducerID):
		g.reset.Store(true)
	case errors.Is(err, kerr.TransactionAbortable), errors.Is(err, kerr.InvalidTxnState), errors.Is(err, kgo.ErrAborting):
	default:
		return false
	}
	g.abort.Store(true)
	return true
}

// admission is what admit decided.
type admission int

const (
	admitted admission = iota // produce now, leave when settled
	mustPark                  // call park
	stale                     // the partition state was replaced, or no transaction is open: settle unfinished
)

// admit decides whether the record at offset of ps may produce now.
func (g *txnGate) admit(ps *partState, offset int64) admission {
	g.mu.RLock()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.revoked || g.closed {
		g.mu.RUnlock()
		return stale
	}
	// Behind a parked record a record parks too: a later record of the
	// same key has a higher offset, so outputs of one key stay in order.
	// One before every parked record and the one being sent (the record
	// at the watermark, say) may go first: no earlier record of its key
	// waits.
	first := (len(ps.parked) == 0 || offset < ps.parked[0].offset) && (ps.inSend < 0 || offset < ps.inSend)
	if first && ps.claimLocked(offset, g.metaMax) {
		return admitted
	}
	g.mu.RUnlock()
	return mustPark
}

// park queues outputs until their partition has room; send or drop is
// called later, from another goroutine.
func (g *txnGate) park(ps *partState, p parkedOutputs) {
	ps.mu.Lock()
	if ps.revoked {
		ps.mu.Unlock()
		p.drop()
		return
	}
	// Kept in offset order: the lowest is sent first, and the record at
	// the watermark always fits, so the partition always moves on.
	i, _ := slices.BinarySearchFunc(ps.parked, p.offset, func(q parkedOutputs, o int64) int { return cmp.Compare(q.offset, o) })
	ps.parked = slices.Insert(ps.parked, i, p)
	ps.mu.Unlock()
	g.holds.Inc()
	g.drain(ps) // room may have come meanwhile
}

// leave drops a settled record's read lock.
func (g *txnGate) leave() { g.mu.RUnlock() }

// drain starts sending the parked outputs of ps unless that is under way.
// It never blocks: it runs after settles, on kgo's promise goroutine.
func (g *txnGate) drain(ps *partState) {
	ps.mu.Lock()
	idle := !ps.sending && len(ps.parked) > 0 && !ps.revoked
	if idle {
		ps.sending = true
	}
	ps.mu.Unlock()
	if idle {
		go g.sendParked(ps) // producing may block; promises must not
	}
}

// sendParked sends the parked outputs of ps that fit, oldest first, one at a
// time (so a key's outputs keep their order), until the oldest does not fit
// or a transaction ends (the transactor drains every partition afterwards).
func (g *txnGate) sendParked(ps *partState) {
	for {
		ps.mu.Lock()
		ps.inSend = -1
		if len(ps.parked) == 0 || ps.revoked || !g.mu.TryRLock() {
			ps.sending = false
			ps.mu.Unlock()
			return
		}
		if g.closed {
			g.mu.RUnlock()
			ps.sending = false
			ps.mu.Unlock()
			g.dropParked(ps)
			return
		}
		head := ps.parked[0]
		if !ps.claimLocked(head.offset, g.metaMax) {
			g.mu.RUnlock()
			ps.sending = false
			ps.mu.Unlock()
			return
		}
		ps.parked = ps.parked[1:]
		ps.inSend = head.offset
		ps.mu.Unlock()
		head.send()
	}
}

// dropParked settles the parked records of a replaced partition state.
func (g *txnGate) dropParked(ps *partState) {
	ps.mu.Lock()
	parked := ps.parked
	ps.parked = nil
	ps.mu.Unlock()
	for _, p := range parked {
		p.drop()
	}
}
