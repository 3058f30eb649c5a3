// Package schedule hands work items to a pool of workers while keeping items
// that share a key strictly in order: an item becomes runnable only once the
// previous item with its key is done. Items with different keys, or with no
// key at all, run in parallel.
package schedule

import "sync"

type item[T any] struct {
	key string
	v   T
}

type keyState[T any] struct {
	running bool      // the key's current head was taken by a worker
	waiting []item[T] // items queued behind the head, in arrival order
}

// Queue is the scheduler. All its state is guarded by mu; workers block in
// Next on cond.
type Queue[T any] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	ready  []item[T]
	keys   map[string]*keyState[T] // a key is present while it has an item ready or running
	closed bool
}

// New returns an empty queue.
func New[T any]() *Queue[T] {
	q := &Queue[T]{keys: make(map[string]*keyState[T])}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Push adds v. An empty key means v is not ordered against anything.
func (q *Queue[T]) Push(key string, v T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := item[T]{key, v}
	if key != "" {
		if ks, busy := q.keys[key]; busy {
			ks.waiting = append(ks.waiting, it)
			return
		}
		q.keys[key] = &keyState[T]{}
	}
	q.ready = append(q.ready, it)
	q.cond.Signal()
}

// Next blocks until an item is runnable and returns it with its key, or
// returns ok=false once the queue is closed.
func (q *Queue[T]) Next() (key string, v T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return "", v, false
	}
	it := q.ready[0]
	q.ready[0] = item[T]{}
	q.ready = q.ready[1:]
	if it.key != "" {
		q.keys[it.key].running = true
	}
	return it.key, it.v, true
}

// Done releases key after its running item finished, making the next item
// with that key runnable.
func (q *Queue[T]) Done(key string) {
	if key == "" {
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

func (q *Queue[T]) promote(key string, ks *keyState[T]) {
	if len(ks.waiting) == 0 {
		delete(q.keys, key)
		return
	}
	q.ready = append(q.ready, ks.waiting[0])
	ks.waiting = ks.waiting[1:]
	q.cond.Signal()
}

// Drop removes every item not yet taken by a worker for which match is true
// and returns them. Running items are unaffected.
func (q *Queue[T]) Drop(match func(T) bool) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	var dropped []T
	for _, ks := range q.keys {
		kept := ks.waiting[:0]
		for _, it := range ks.waiting {
			if match(it.v) {
				dropped = append(dropped, it.v)
			} else {
				kept = append(kept, it)
			}
		}
		ks.waiting = kept
	}
	kept := q.ready[:0]
	var orphaned []string
	for _, it := range q.ready {
		if match(it.v) {
			dropped = append(dropped, it.v)
			if it.key != "" {
				orphaned = append(orphaned, it.key)
			}
		} else {
			kept = append(kept, it)
		}
	}
	clear(q.ready[len(kept):])
	q.ready = kept
	// A dropped ready item was its key's head; the next waiting item (if
	// any survived) takes its place.
	for _, key := range orphaned {
		q.promote(key, q.keys[key])
	}
	return dropped
}

// Len returns the number of items not yet taken by a worker.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.ready)
	for _, ks := range q.keys {
		n += len(ks.waiting)
	}
	return n
}

// Close wakes every worker blocked in Next; Next returns ok=false from then
// on, even if items remain.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
