package schedule

import "sync/atomic"

// Batch is one worker's share of the runnable items: filled by Fill, run
// one after another in order through Take, ended by Finish. While its
// worker is stuck in one item (a handler that blocks), Steal hands the
// items it has not started back to the queue, so the other workers run
// them instead of leaving them behind the stuck one.
//
// Only the worker that owns a Batch calls Fill, Take and Finish; Steal may
// be called from any goroutine.
type Batch[T comparable] struct {
	// state is gen<<32 | end<<16 | next: items[next:end] are not started,
	// items[next-1] is the one running. Take moves next, Steal pulls end
	// down to next, Fill starts a new generation; each is one atomic
	// operation, so a Take and a Steal never both get an item.
	state   atomic.Uint64
	items   []T
	tickets []Ticket
	seqs    []uint64
}

const (
	batchIndex = 1<<16 - 1
	batchGen   = 1 << 32
)

// Take returns the batch's next item, or ok=false once the batch is done:
// every item was taken, or the rest was stolen.
func (b *Batch[T]) Take() (v T, ok bool) {
	for {
		s := b.state.Load()
		next, end := s&batchIndex, s>>16&batchIndex
		if next >= end {
			return v, false
		}
		if b.state.CompareAndSwap(s, s+1) {
			return b.items[next], true
		}
	}
}

// Progress returns a value that changes whenever the batch's worker takes
// an item or fills the batch anew, and only then (a Steal does not change
// it): if it is the same a while later, the worker is still in the same
// item.
func (b *Batch[T]) Progress() uint64 { return b.state.Load() &^ (batchIndex << 16) }

// Fill blocks until an item is runnable and fills b with up to max
// runnable items, a share of those ready for workers workers (see
// takeLocked), or returns false once the queue is closed. b must be
// finished (Finish) before it is filled again.
func (q *Queue[T]) Fill(b *Batch[T], max, workers int) bool {
	max = min(max, batchIndex)
	q.mu.Lock()
	defer q.mu.Unlock()
	ok := q.takeLocked(b, max, workers)
	gen := (b.state.Load() &^ (batchGen - 1)) + batchGen
	b.state.Store(gen | uint64(len(b.items))<<16)
	return ok
}

// Finish ends b: for the items of b its worker took it releases their
// lanes, making the next items of their keys runnable.
func (q *Queue[T]) Finish(b *Batch[T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ran := b.state.Load() & batchIndex
	for _, t := range b.tickets[:ran] {
		q.release(t)
	}
	clear(b.items) // let the items be collected while the worker waits
}

// Steal hands the items of b its worker has not started back to the queue
// and returns how many. Each goes back as it was when taken, so order
// holds: an item that held its lane is runnable again, holding it; one
// grouped behind an earlier item of its lane waits in the lane, ahead of
// the lane's later items. Items b's worker finished release their lanes
// now rather than when the stuck item ends, except the lane of the item
// that is running, which its worker still needs.
func (q *Queue[T]) Steal(b *Batch[T]) int {
	// Under mu, so that the worker cannot fill b again (reusing its
	// storage) while the stolen items are moved out of it.
	q.mu.Lock()
	defer q.mu.Unlock()
	var from, end int
	for {
		s := b.state.Load()
		next, e := s&batchIndex, s>>16&batchIndex
		if next >= e {
			return 0
		}
		if b.state.CompareAndSwap(s, s&^(batchIndex<<16)|next<<16) {
			from, end = int(next), int(e)
			break
		}
	}
	// Runnable again in their order (a bucket of released items is a
	// FIFO); grouped ones to the front of their lanes backwards, so that a
	// lane's end up in their order.
	for k := from; k < end; k++ {
		if t := b.tickets[k]; !t.isGrouped() {
			q.released.push(entry[T]{b.items[k], t, b.seqs[k]})
		}
	}
	for k := end - 1; k >= from; k-- {
		if t := b.tickets[k]; t.isGrouped() {
			q.waitFront(t.lane(), b.items[k], b.seqs[k])
		}
	}
	if from > 1 {
		running := b.tickets[from-1].lane()
		for k := range from - 1 {
			if t := b.tickets[k]; t.holds() && t != running {
				q.release(t)
				b.tickets[k] = noLane // released here, not in Finish
			}
		}
	}
	q.cond.Broadcast()
	return end - from
}

// waitFront puts v, pushed as seq, at the front of lane i, which an item
// holds: v is older than everything waiting there.
func (q *Queue[T]) waitFront(i Ticket, v T, seq uint64) {
	l := q.link(v)
	l.seq = seq
	if q.state[i] == busyWaiting {
		l.next = q.lists[i].head
	} else {
		var zero T
		l.next = zero
		q.lists[i].tail = v
		q.state[i] = busyWaiting
	}
	q.lists[i].head = v
	q.waiting++
}
