package pipeline

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// txnGate is exactly-once mode's produce gate. A record's outputs are
// produced inside one transaction: admit takes a read lock before the first
// output, leave drops it when the record settles, and the transactor takes
// the write lock to end a transaction, so every record with outputs in the
// ending transaction is finished (and named in the committed offsets) when
// it commits.
//
// Admission also reserves room in the partition's commit metadata for
// recording the record as finished (partState.reserveLocked). A record that
// finds none is parked, in offset order, with no worker waiting: its outputs
// are sent by drain once records of the partition settle and make room.
// The record at the watermark never needs room, so a partition always moves
// on, and a record never overtakes a parked one with a lower offset, which
// keeps a key's outputs in order.
type txnGate struct {
	mu      sync.RWMutex
	metaMax int
	holds   prometheus.Counter
}

// admission is what admit decided.
type admission int

const (
	admitted admission = iota // produce now, leave when settled
	mustPark                  // call park
	stale                     // the partition state was replaced: settle unfinished
)

// admit decides whether the record at offset of ps may produce now.
func (g *txnGate) admit(ps *partState, offset int64) (int, admission) {
	g.mu.RLock()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.revoked {
		g.mu.RUnlock()
		return 0, stale
	}
	// Behind a parked record a record parks too: a later record of the
	// same key has a higher offset, so outputs of one key stay in order.
	// One before every parked record (the record at the watermark, say)
	// may go first.
	if len(ps.parked) == 0 || offset < ps.parked[0].offset {
		if reserved, ok := ps.reserveLocked(offset, g.metaMax); ok {
			return reserved, admitted
		}
	}
	g.mu.RUnlock()
	return 0, mustPark
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
	// Kept in offset order: drain tries the lowest first, and the record at
	// the watermark needs no room, so the partition always moves on.
	i := len(ps.parked)
	for i > 0 && ps.parked[i-1].offset > p.offset {
		i--
	}
	ps.parked = slices.Insert(ps.parked, i, p)
	ps.mu.Unlock()
	g.holds.Inc()
	g.drain(ps) // room may have come meanwhile
}

// leave releases a settled record's reservation and read lock.
func (g *txnGate) leave(ps *partState, reserved int) {
	if reserved > 0 {
		ps.mu.Lock()
		ps.reserved -= reserved
		ps.mu.Unlock()
	}
	g.mu.RUnlock()
}

// drain sends the parked outputs of ps that have room now, oldest first.
// It never blocks: it runs after settles, on kgo's promise goroutine, and
// gives up while a transaction ends (the transactor drains every partition
// afterwards).
func (g *txnGate) drain(ps *partState) {
	for {
		if !g.mu.TryRLock() {
			return
		}
		ps.mu.Lock()
		if len(ps.parked) == 0 || ps.revoked {
			ps.mu.Unlock()
			g.mu.RUnlock()
			return
		}
		head := ps.parked[0]
		reserved, ok := ps.reserveLocked(head.offset, g.metaMax)
		if !ok {
			ps.mu.Unlock()
			g.mu.RUnlock()
			return
		}
		ps.parked = ps.parked[1:]
		ps.mu.Unlock()
		go head.send(reserved) // producing may block; promises must not
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
