// Package schedule hands work items to a pool of workers while keeping items
// that share a key strictly in order: an item becomes runnable only once the
// previous item with its key is done. Items with different keys, or with no
// key at all, run in parallel.
package schedule

import "sync"

type item[K comparable, T any] struct {
	key K
	v   T
	ks  *keyState[K, T] // the key's state; nil for unordered items
}

// Ticket is a running item's claim on its key, returned by NextBatch and
// handed back to DoneAll; it saves looking the key up again.
type Ticket[K comparable, T any] struct {
	key K
	ks  *keyState[K, T]
}

type keyState[K comparable, T any] struct {
	running bool             // the key's current head was taken by a worker
	waiting fifo[item[K, T]] // items queued behind the head, in arrival order
}

// Queue is the scheduler. All its state is guarded by mu; workers block in
// Next on cond.
type Queue[K comparable, T any] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	ready  fifo[item[K, T]]
	keys   map[K]*keyState[K, T] // a key is present while it has an item ready or running
	closed bool
	free   []*keyState[K, T] // recycled key states: one per key in use would otherwise be garbage per record
}

func (q *Queue[K, T]) newKeyState() *keyState[K, T] {
	if n := len(q.free); n > 0 {
		ks := q.free[n-1]
		q.free = q.free[:n-1]
		return ks
	}
	return new(keyState[K, T])
}

// New returns an empty queue.
func New[K comparable, T any]() *Queue[K, T] {
	q := &Queue[K, T]{keys: make(map[K]*keyState[K, T])}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Push adds v. The zero key means v is not ordered against anything.
func (q *Queue[K, T]) Push(key K, v T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pushLocked(key, v) {
		q.cond.Signal()
	}
}

// PushAll adds the items keys[i], vs[i] in order, under one lock: cheaper
// than Push per item for a polled batch.
func (q *Queue[K, T]) PushAll(keys []K, vs []T) {
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

// pushLocked queues an item and reports whether it became ready.
func (q *Queue[K, T]) pushLocked(key K, v T) bool {
	var zero K
	it := item[K, T]{key: key, v: v}
	if key != zero {
		ks, busy := q.keys[key]
		if busy {
			it.ks = ks
			ks.waiting.push(it)
			return false
		}
		ks = q.newKeyState()
		q.keys[key] = ks
		it.ks = ks
	}
	q.ready.push(it)
	return true
}

// Next blocks until an item is runnable and returns it with its key, or
// returns ok=false once the queue is closed.
func (q *Queue[K, T]) Next() (key K, v T, ok bool) {
	var zero K
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ready.len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return zero, v, false
	}
	it := q.ready.pop()
	if it.key != zero {
		q.keys[it.key].running = true
	}
	return it.key, it.v, true
}

// NextBatch is Next for up to max items at once: it blocks until at least
// one is runnable and appends the runnable items (all of different keys) to
// vs and their tickets, for DoneAll, to tickets. Taking a share of the ready
// items, not all, keeps the other workers busy. It returns ok=false once the
// queue is closed.
func (q *Queue[K, T]) NextBatch(max, workers int, tickets []Ticket[K, T], vs []T) ([]Ticket[K, T], []T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ready.len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return tickets, vs, false
	}
	n := min(max, (q.ready.len()+workers-1)/workers)
	for range n {
		it := q.ready.pop()
		if it.ks != nil {
			it.ks.running = true
		}
		tickets = append(tickets, Ticket[K, T]{it.key, it.ks})
		vs = append(vs, it.v)
	}
	return tickets, vs, true
}

// Done releases key after its running item finished, making the next item
// with that key runnable.
func (q *Queue[K, T]) Done(key K) {
	var zero K
	if key == zero {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	ks := q.keys[key]
	if ks == nil {
		return
	}
	ks.running = false
	q.promote(key, ks)
}

// DoneAll is Done for the items of tickets, under one lock.
func (q *Queue[K, T]) DoneAll(tickets []Ticket[K, T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range tickets {
		if t.ks != nil {
			t.ks.running = false
			q.promote(t.key, t.ks)
		}
	}
}

func (q *Queue[K, T]) promote(key K, ks *keyState[K, T]) {
	if ks.waiting.len() == 0 {
		delete(q.keys, key)
		if len(q.free) < 4096 {
			q.free = append(q.free, ks)
		}
		return
	}
	q.ready.push(ks.waiting.pop())
	q.cond.Signal()
}

// Drop removes every item not yet taken by a worker for which match is true
// and returns them. Running items are unaffected.
func (q *Queue[K, T]) Drop(match func(T) bool) []T {
	var zero K
	q.mu.Lock()
	defer q.mu.Unlock()
	var dropped []T
	keep := func(it item[K, T]) bool {
		if match(it.v) {
			dropped = append(dropped, it.v)
			return false
		}
		return true
	}
	for _, ks := range q.keys {
		ks.waiting.filter(keep)
	}
	var orphaned []K
	q.ready.filter(func(it item[K, T]) bool {
		if keep(it) {
			return true
		}
		if it.key != zero {
			orphaned = append(orphaned, it.key)
		}
		return false
	})
	// A dropped ready item was its key's head; the next waiting item (if
	// any survived) takes its place.
	for _, key := range orphaned {
		q.promote(key, q.keys[key])
	}
	return dropped
}

// Len returns the number of items not yet taken by a worker.
func (q *Queue[K, T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.ready.len()
	for _, ks := range q.keys {
		n += ks.waiting.len()
	}
	return n
}

// Close wakes every worker blocked in Next; Next returns ok=false from then
// on, even if items remain.
func (q *Queue[K, T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
