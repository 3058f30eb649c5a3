// Package schedule hands work items to a pool of workers while keeping items
// that share a key strictly in order: an item runs only once the previous
// item with its key is done, or right after it on the same worker when both
// came in one batch. Items with different keys, or with no key at all, run
// in parallel.
//
// Keys are 64-bit hashes mapped onto a fixed table of lanes by their low
// bits, so pushing and releasing an item is an array index, not a map
// operation. Two keys that share a lane are kept in order against each other
// too: a lane collision costs a little parallelism, never ordering.
package schedule

import (
	"math/bits"
	"sync"
)

// Unordered is the key of items that are not ordered against anything.
const Unordered uint64 = 0

// Ticket is a running item's claim on its lane, kept in the item's Batch
// from Fill until Finish (or Steal) releases it.
type Ticket int32

const noLane Ticket = -1

// grouped is the ticket of an item taken behind an earlier item of lane in
// the same batch (see takeLocked): it holds nothing, but Steal must know
// which lane it belongs to.
func grouped(lane Ticket) Ticket { return -2 - lane }

// holds reports whether t holds its lane: only such tickets are released.
func (t Ticket) holds() bool { return t >= 0 }

// isGrouped reports whether t is a grouped ticket.
func (t Ticket) isGrouped() bool { return t < noLane }

// lane returns the lane t holds or was grouped behind, noLane for an
// unordered item.
func (t Ticket) lane() Ticket {
	if t.isGrouped() {
		return grouped(t) // its own inverse
	}
	return t
}

type entry[T any] struct {
	v    T
	lane Ticket
	seq  uint64 // push order: lower is older
}

// Link is an item's own storage for waiting in its lane: the item after it
// and its push order. The lane's waiting items are a list through their
// Links, so taking the next one off touches the item itself, which its
// worker reads next anyway. A ring of entries per lane read the entry
// from a line of its own, gone cold since the push (tens of thousands of
// lanes' rings, all over memory): against Kafka, 12 partitions, 10,000
// keys, the list took 3-9% less CPU per record than the rings (and a
// shared node table in place of the rings, which still read a line of its
// own, none). An item is in one Queue at a time, once.
type Link[T any] struct {
	next T
	seq  uint64
}

// A lane holds the items of the keys that map onto it: busy while an item
// holds it (running, or released and ready to run), later items waiting in
// arrival order. Items not yet handed out hold nothing: a lane is claimed
// when a worker takes one of its items, so a key's next item, pushed while
// the one before it still queues, can go out in the same batch behind it
// instead of waiting for that batch to end.
//
// A lane's state is one byte, kept apart from its waiting items: every
// take and release looks at the state of a lane picked by a hash, and a
// table of 65,536 one-byte states stays in the CPU's cache where one of
// 40-byte lanes (2.5 MiB) missed it on most records; the waiting items
// (head and tail of the list through their Links) are touched only when
// there are some.
const (
	idle        uint8 = iota // no item holds the lane
	busy                     // an item holds it, nothing waits
	busyWaiting              // and items wait behind it in lists[lane]
	taken                    // claimed by the batch takeLocked is taking now
)

// ends are the first and last of a lane's waiting items.
type ends[T any] struct{ head, tail T }

// Queue is the scheduler. All its state is guarded by mu; workers block in
// Fill on cond.
//
// Items are handed out oldest first (in push order, as far as their keys
// allow, give or take a bucket; see buckets) from two places: fresh, every
// item in push order, and released, the items that waited in their lane
// and became runnable when the item before them was done. A fresh item
// whose lane is held when it comes up waits in the lane then. Taking the
// older of the two heads runs the oldest runnable item. Sending released items to the back of one queue instead
// starved them: a key with several items waited through the whole queue
// once per item, holding back its partition's committed offset and pinning
// the fetch buffers it points into (BenchmarkBacklogMemory grew past 300
// MiB).
type Queue[T comparable] struct {
	mu       sync.Mutex
	cond     *sync.Cond
	fresh    fifo[entry[T]]
	released buckets[T]
	state    []uint8 // per lane
	// lists is per lane the waiting items' list, set only if
	// busyWaiting: head and tail side by side, one cache line to fetch
	// where two arrays missed twice.
	lists   []ends[T]
	link    func(T) *Link[T]
	waiting int // items waiting in all lanes
	mask    uint64
	seq     uint64
	closed  bool
}

func (q *Queue[T]) runnable() int { return q.fresh.len() + q.released.len() }

// popOldest removes and returns the oldest runnable item, and whether it
// came from fresh (holding nothing) rather than released (holding its
// lane). The caller checks that one exists.
func (q *Queue[T]) popOldest() (entry[T], bool) {
	if q.released.len() > 0 && (q.fresh.len() == 0 || q.released.peek().seq < q.fresh.peek().seq) {
		return q.released.pop(), false
	}
	return q.fresh.pop(), true
}

// claim decides whether e, just popped, goes into the batch being taken,
// and returns its ticket: its lane if it holds it now, or one that holds
// nothing: noLane if unordered, grouped if, with group, behind an item of
// its lane earlier in this batch, which its worker runs first. Otherwise e
// waits in its lane, and claim returns false. Lanes claimed here are taken
// until settle.
func (q *Queue[T]) claim(e entry[T], fresh, group bool) (Ticket, bool) {
	if e.lane == noLane {
		return noLane, true
	}
	switch s := q.state[e.lane]; {
	case !fresh: // released: it holds its lane already
		if s == busy {
			q.state[e.lane] = taken
		}
		return e.lane, true
	case s == idle:
		q.state[e.lane] = taken
		return e.lane, true
	case s == taken && group:
		return grouped(e.lane), true
	default: // held by a running or released item, or others wait
		q.wait(e.lane, e.v, e.seq)
		return noLane, false
	}
}

// settle ends a batch's claims: its lanes are busy until Finish.
func (q *Queue[T]) settle(tickets []Ticket) {
	for _, t := range tickets {
		if t.holds() && q.state[t] == taken {
			q.state[t] = busy
		}
	}
}

// New returns an empty queue with at least lanes lanes (rounded up to a
// power of two). More lanes make collisions between distinct keys rarer.
// link returns an item's Link; the queue calls it under its lock.
func New[T comparable](lanes int, link func(T) *Link[T]) *Queue[T] {
	n := 1 << bits.Len(uint(max(lanes, 1)-1))
	q := &Queue[T]{state: make([]uint8, n), lists: make([]ends[T], n), link: link, mask: uint64(n - 1)}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Push adds v with key.
func (q *Queue[T]) Push(key uint64, v T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pushLocked(key, v) {
		q.cond.Signal()
	}
}

// PushAll adds the items keys[i], vs[i] in order, under one lock: cheaper
// than Push per item for a polled batch.
func (q *Queue[T]) PushAll(keys []uint64, vs []T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	woke := 0
	for i := range vs {
		if q.pushLocked(keys[i], vs[i]) {
			woke++
		}
	}
	if woke > 1 {
		q.cond.Broadcast()
	} else if woke == 1 {
		q.cond.Signal()
	}
}

// pushLocked queues an item and reports whether a worker should wake for
// it. It does not look at the lane: an item claims its lane only when taken
// (see claim), and waiting right here behind a busy lane would put it
// behind newer items of the lane if an older one were still in fresh.
func (q *Queue[T]) pushLocked(key uint64, v T) bool {
	q.seq++
	lane := noLane
	if key != Unordered {
		lane = Ticket(key & q.mask)
	}
	q.fresh.push(entry[T]{v, lane, q.seq})
	return true
}

// takeLocked blocks until at least one item is runnable and fills b (its
// items, their tickets for release and their push order) with the runnable
// items, or returns false once the queue is closed. It takes up to max, and
// a share of the ready items, not all, so that the other workers stay busy.
//
// With one worker (workers is 1) it takes a key's queued items together:
// they come in push order, the caller runs them in that order, one after
// another, and all but the first hold nothing (grouped tickets) and are
// released with it. With more, a key's next item waits for its lane, so
// that keys spread over the workers.
//
// The caller holds mu.
func (q *Queue[T]) takeLocked(b *Batch[T], max, workers int) bool {
	b.tickets, b.items, b.seqs = b.tickets[:0], b.items[:0], b.seqs[:0]
	group := workers <= 1
	var share int
	for len(b.items) == 0 {
		for q.runnable() == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			return false
		}
		share = min(max, (q.runnable()+workers-1)/workers)
		for len(b.items) < share && q.runnable() > 0 {
			e, fresh := q.popOldest()
			if t, ok := q.claim(e, fresh, group); ok {
				b.tickets = append(b.tickets, t)
				b.items = append(b.items, e.v)
				b.seqs = append(b.seqs, e.seq)
			}
		}
	}
	if got := len(b.items); !group && got < share {
		// Fewer could run than were queued (the rest waits behind
		// them): leave the others their part, still holding their
		// lanes, as released items.
		keep := (got + workers - 1) / workers
		for i := keep; i < got; i++ {
			if t := b.tickets[i]; t.holds() && q.state[t] == taken {
				q.state[t] = busy
			}
			q.released.push(entry[T]{b.items[i], b.tickets[i], b.seqs[i]})
		}
		if got-keep > 1 {
			q.cond.Broadcast()
		} else if got > keep {
			q.cond.Signal()
		}
		b.tickets, b.items, b.seqs = b.tickets[:keep], b.items[:keep], b.seqs[:keep]
	}
	q.settle(b.tickets)
	return true
}

// release frees the lane of a finished item, making the next item of its
// lane runnable. The caller holds mu.
func (q *Queue[T]) release(t Ticket) {
	if !t.holds() {
		return
	}
	if q.state[t] != busyWaiting {
		q.state[t] = idle
		return
	}
	q.released.push(q.unwait(t))
	q.cond.Signal()
}

// wait puts v, pushed as seq, at the back of busy lane i.
func (q *Queue[T]) wait(i Ticket, v T, seq uint64) {
	var zero T
	l := q.link(v)
	l.next, l.seq = zero, seq
	if q.state[i] == busyWaiting {
		q.link(q.lists[i].tail).next = v
	} else {
		q.lists[i].head = v
		q.state[i] = busyWaiting
	}
	q.lists[i].tail = v
	q.waiting++
}

// unwait takes the front waiting item off lane i, which has one; the lane
// stays busy, with it.
func (q *Queue[T]) unwait(i Ticket) entry[T] {
	var zero T
	w := &q.lists[i]
	v := w.head
	l := q.link(v)
	e := entry[T]{v, i, l.seq}
	if v == w.tail {
		*w = ends[T]{}
		q.state[i] = busy
	} else {
		w.head = l.next
	}
	l.next = zero // let the next item be collected once it is gone
	q.waiting--
	return e
}

// Drop removes every item not yet taken by a worker for which match is true
// and returns them. Running items are unaffected.
func (q *Queue[T]) Drop(match func(T) bool) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	var dropped []T
	keep := func(e entry[T]) bool {
		if match(e.v) {
			dropped = append(dropped, e.v)
			return false
		}
		return true
	}
	for i, s := range q.state {
		if s != busyWaiting {
			continue
		}
		// Take the lane's list apart and queue the survivors again, in
		// order: the lane stays busy either way, its head is running or
		// ready.
		var kept []entry[T]
		for q.state[i] == busyWaiting {
			if e := q.unwait(Ticket(i)); keep(e) {
				kept = append(kept, e)
			}
		}
		for _, e := range kept {
			q.wait(Ticket(i), e.v, e.seq)
		}
	}
	var orphaned []Ticket
	keepRunnable := func(e entry[T]) bool {
		if keep(e) {
			return true
		}
		orphaned = append(orphaned, e.lane)
		return false
	}
	q.fresh.filter(keep) // they hold no lane
	q.released.filter(keepRunnable)
	// A dropped released item held its lane; the next waiting item (if
	// any survived) takes its place.
	for _, t := range orphaned {
		q.release(t)
	}
	return dropped
}

// Len returns the number of items not yet taken by a worker.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.runnable() + q.waiting
}

// Close wakes every worker blocked in Fill; Fill returns false from then
// on, even if items remain.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
