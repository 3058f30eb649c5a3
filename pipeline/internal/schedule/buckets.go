package schedule

import "sort"

// bucketShift sets how many consecutive seqs share a bucket (1024): within
// a bucket items leave in arrival order, so an item can be overtaken by at
// most a bucket's worth of newer ones.
const bucketShift = 10

// buckets is a queue of entries that leaves about oldest first: entries
// are grouped by seq>>bucketShift into FIFOs, and the oldest non-empty
// bucket is served first. Released items arrive far out of order (a key's
// next item can be thousands of pushes newer than the one before it), which
// made keeping them sorted by insertion cost a fifth of a passthrough
// processor's CPU and a heap an eighth; a handful of buckets costs a binary
// search over a short slice.
type buckets[T any] struct {
	live []bucket[T] // non-empty buckets, by id
	free []*fifo[entry[T]]
	n    int
}

type bucket[T any] struct {
	id uint64
	q  *fifo[entry[T]]
}

func (b *buckets[T]) len() int { return b.n }

// peek returns the entry pop would return.
func (b *buckets[T]) peek() entry[T] { return b.live[0].q.peek() }

func (b *buckets[T]) push(e entry[T]) {
	id := e.seq >> bucketShift
	// Mostly the newest bucket, or a newer one: released items come
	// about in push order when keys repeat evenly.
	i := len(b.live)
	if i > 0 && b.live[i-1].id >= id {
		i = sort.Search(len(b.live), func(i int) bool { return b.live[i].id >= id })
	}
	if i == len(b.live) || b.live[i].id != id {
		var q *fifo[entry[T]]
		if n := len(b.free); n > 0 {
			q, b.free = b.free[n-1], b.free[:n-1]
		} else {
			q = new(fifo[entry[T]])
		}
		b.live = append(b.live, bucket[T]{})
		copy(b.live[i+1:], b.live[i:])
		b.live[i] = bucket[T]{id, q}
	}
	b.live[i].q.push(e)
	b.n++
}

func (b *buckets[T]) pop() entry[T] {
	q := b.live[0].q
	e := q.pop()
	b.n--
	if q.len() == 0 {
		b.remove(0)
	}
	return e
}

func (b *buckets[T]) remove(i int) {
	b.free = append(b.free, b.live[i].q)
	copy(b.live[i:], b.live[i+1:])
	b.live[len(b.live)-1] = bucket[T]{}
	b.live = b.live[:len(b.live)-1]
}

// filter keeps the entries for which keep is true.
func (b *buckets[T]) filter(keep func(entry[T]) bool) {
	for i := 0; i < len(b.live); {
		q := b.live[i].q
		b.n -= q.len()
		q.filter(keep)
		b.n += q.len()
		if q.len() == 0 {
			b.remove(i)
			continue
		}
		i++
	}
}
