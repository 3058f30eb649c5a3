package schedule

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSameKeyNeverRunsConcurrentlyAndKeepsOrder runs many keys on 8 workers
// and checks that each key's items ran one at a time, in push order, while
// different keys did overlap.
func TestSameKeyNeverRunsConcurrentlyAndKeepsOrder(t *testing.T) {
	for _, batch := range []int{1, 8} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { testSameKeyInOrder(t, batch) })
	}
}

// testSameKeyInOrder takes batch items at a time and runs them one after
// another, as the executor does.
func testSameKeyInOrder(t *testing.T, batch int) {
	// 64 lanes for 50 keys: some keys share a lane, which must still
	// keep each key in order.
	q := New(64, linksFor[int]())
	const keys, perKey, workers = 50, 40, 8
	type rec struct {
		key uint64
		seq int
	}
	var (
		mu       sync.Mutex
		seen     = map[uint64][]int{}
		running  = map[uint64]bool{}
		inFlight atomic.Int32
		maxIn    atomic.Int32
	)
	var wg sync.WaitGroup
	total := keys * perKey
	var finished atomic.Int32
	items := map[int]rec{}
	id := 0
	for s := 0; s < perKey; s++ {
		for k := 0; k < keys; k++ {
			items[id] = rec{uint64(k)*0x9E3779B97F4A7C15 | 1<<63, s}
			id++
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				w := workers
				if batch == 1 {
					w = 1 // one at a time, as the processor's single worker
				}
				b, vs, ok := fill(q, batch, w)
				if !ok {
					return
				}
				for _, v := range vs {
					r := items[v]
					key := r.key
					mu.Lock()
					if running[key] {
						t.Errorf("key %x ran twice at once", key)
					}
					running[key] = true
					mu.Unlock()
					n := inFlight.Add(1)
					for m := maxIn.Load(); n > m && !maxIn.CompareAndSwap(m, n); m = maxIn.Load() {
					}
					time.Sleep(time.Duration(rand.Intn(200)) * time.Microsecond)
					inFlight.Add(-1)
					mu.Lock()
					running[key] = false
					seen[key] = append(seen[key], r.seq)
					mu.Unlock()
				}
				q.Finish(b)
				if finished.Add(int32(len(vs))) == int32(total) {
					q.Close()
				}
			}
		}()
	}
	for i := 0; i < id; i++ {
		q.Push(items[i].key, i)
	}
	wg.Wait()
	for k, seqs := range seen {
		for i, s := range seqs {
			if s != i {
				t.Fatalf("key %x: item %d ran at position %d", k, s, i)
			}
		}
	}
	if maxIn.Load() < 2 {
		t.Fatalf("at most %d item in flight: keys did not run in parallel", maxIn.Load())
	}
}

func TestDropPromotesSurvivorsAndSkipsDropped(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1-drop")
	q.Push(keyA, "a2-drop")
	q.Push(keyB, "b1")
	q.Push(Unordered, "u-drop")
	dropped := q.Drop(func(v string) bool { return len(v) > 4 && v[len(v)-4:] == "drop" })
	if len(dropped) != 3 {
		t.Fatalf("dropped %v, want 3 items", dropped)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d after drop, want 1", q.Len())
	}
	b, v, _ := take(q)
	if v != "b1" {
		t.Fatalf("next = %s, want b1", v)
	}
	q.Finish(b)
	// Key a is free again: a new item runs at once.
	q.Push(keyA, "a3")
	if _, v, _ := take(q); v != "a3" {
		t.Fatalf("next = %s, want a3", v)
	}
}

func TestDropKeepsKeyBusyWhileItsHeadRuns(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1")
	q.Push(keyA, "a2")
	b, v, _ := take(q) // a1 running
	if v != "a1" {
		t.Fatal(v)
	}
	q.Drop(func(v string) bool { return v == "a2" })
	q.Push(keyA, "a3")
	if q.Len() != 1 {
		t.Fatalf("a3 should wait behind running a1; Len=%d", q.Len())
	}
	q.Finish(b)
	if _, v, _ := take(q); v != "a3" {
		t.Fatalf("next = %s, want a3", v)
	}
}

const (
	keyA = 1<<63 | 1
	keyB = 1<<63 | 2
)

// TestKeysSharingALaneStayInOrder: two keys whose low bits collide share a
// lane; the second waits for the first instead of overtaking it, while a
// key of another lane runs at once.
func TestKeysSharingALaneStayInOrder(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1")
	q.Push(keyA+16, "c1") // same lane as keyA
	q.Push(keyB, "b1")
	b1, v1, _ := take(q)
	_, v2, _ := take(q)
	if v1 != "a1" || v2 != "b1" {
		t.Fatalf("ran %s, %s; want a1 then b1 (c1 waits behind a1's lane)", v1, v2)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (c1 waiting)", q.Len())
	}
	q.Finish(b1)
	if _, v, _ := take(q); v != "c1" {
		t.Fatalf("next = %s, want c1", v)
	}
}

func TestNewRoundsLanesToAPowerOfTwo(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 1}, {1, 1}, {3, 4}, {1000, 1024}, {1024, 1024}} {
		if got := len(New(tc.in, linksFor[int]()).state); got != tc.want {
			t.Errorf("New(%d) has %d lanes, want %d", tc.in, got, tc.want)
		}
	}
}

// TestRunnableItemsRunOldestFirst: when a key's running item is done, its
// next item runs before items pushed after it but after older ones, so a
// key with several items is not sent to the back of the line once per item.
func TestRunnableItemsRunOldestFirst(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyB, "b1")
	q.Push(keyA, "a1")
	q.Push(keyA, "a2")
	q.Push(keyB+1, "c1")
	q.Push(keyB+2, "d1")
	// Take b1 and a1; a1 done makes a2 runnable: older than c1 and d1.
	_, v1, _ := take(q)
	ba, v2, _ := take(q)
	if v1 != "b1" || v2 != "a1" {
		t.Fatalf("first two = %s, %s; want b1, a1", v1, v2)
	}
	q.Finish(ba)
	var got []string
	for q.Len() > 0 {
		_, v, _ := take(q)
		got = append(got, v)
	}
	if fmt.Sprint(got) != "[a2 c1 d1]" {
		t.Fatalf("then %v, want [a2 c1 d1]", got)
	}
}

func TestFifo(t *testing.T) {
	var f fifo[int]
	var want []int
	for i := range 100 {
		f.push(i)
		want = append(want, i)
		if i%3 == 2 {
			if got := f.pop(); got != want[0] {
				t.Fatalf("step %d: pop = %d, want %d", i, got, want[0])
			}
			want = want[1:]
		}
	}
	f.filter(func(v int) bool { return v%2 == 0 })
	var even []int
	for _, v := range want {
		if v%2 == 0 {
			even = append(even, v)
		}
	}
	if f.len() != len(even) {
		t.Fatalf("len after filter = %d, want %d", f.len(), len(even))
	}
	for _, w := range even {
		if got := f.peek(); got != w {
			t.Fatalf("after filter: peek = %d, want %d", got, w)
		}
		f.pop()
	}
}

func TestBucketsLeaveOldestBucketFirst(t *testing.T) {
	var b buckets[int]
	present := map[uint64]bool{}
	popMin := func() {
		got := b.pop().seq
		for s := range present {
			if s>>bucketShift < got>>bucketShift {
				t.Fatalf("popped %d while %d, of an older bucket, was queued", got, s)
			}
		}
		delete(present, got)
	}
	for i, s := range rand.Perm(5000) {
		b.push(entry[int]{v: s, seq: uint64(s)})
		present[uint64(s)] = true
		if i%5 == 4 {
			popMin()
		}
	}
	b.filter(func(e entry[int]) bool { return e.seq%2 == 0 })
	for s := range present {
		if s%2 != 0 {
			delete(present, s)
		}
	}
	if b.len() != len(present) {
		t.Fatalf("len after filter = %d, want %d", b.len(), len(present))
	}
	for b.len() > 0 {
		popMin()
	}
	if len(present) != 0 {
		t.Fatalf("%d entries never popped", len(present))
	}
}

// TestNoItemWaitsBehindFarNewerOnes models a processor behind a backlog:
// up to cap items queued, many keys each with several items queued, one
// worker. Every item that runs while an older one is still runnable or
// waiting holds back the committed offset of the older one's partition;
// how far the newest item run gets ahead of the oldest one not yet run
// must stay near the cap, not grow with the backlog.
func TestNoItemWaitsBehindFarNewerOnes(t *testing.T) {
	const capacity, keys, total = 2000, 500, 200_000
	q := New(4096, linksFor[int]())
	rng := rand.New(rand.NewSource(1))
	done := make([]bool, total)
	oldest, pushed, inQueue, worst := 0, 0, 0, 0
	for oldest < total {
		for inQueue < capacity && pushed < total {
			q.Push(1<<63|uint64(rng.Intn(keys)), pushed)
			pushed++
			inQueue++
		}
		b, vs, _ := fill(q, 64, 1)
		for _, v := range vs {
			done[v] = true
			inQueue--
			worst = max(worst, v-oldest)
		}
		for oldest < total && done[oldest] {
			oldest++
		}
		q.Finish(b)
	}
	if limit := capacity + 1<<bucketShift; worst > limit {
		t.Fatalf("an item ran %d pushes ahead of the oldest unfinished one; want at most %d (cap + one bucket)", worst, limit)
	}
}

// linksFor returns a link function for items of a comparable type, backed
// by a map: the queue calls it under its lock.
func linksFor[T comparable]() func(T) *Link[T] {
	links := map[T]*Link[T]{}
	return func(v T) *Link[T] {
		l := links[v]
		if l == nil {
			l = new(Link[T])
			links[v] = l
		}
		return l
	}
}

// TestABatchTakesAKeysItemsInOrder: a key's items queued together go out in
// one batch, in push order, to run one after another on its worker; only
// the first holds the lane, and the key's later items wait until the batch
// is done.
func TestABatchTakesAKeysItemsInOrder(t *testing.T) {
	q := New(16, linksFor[string]())
	for _, v := range []string{"a1", "b1", "a2", "a3"} {
		key := uint64(keyA)
		if v[0] == 'b' {
			key = keyB
		}
		q.Push(key, v)
	}
	b, vs, _ := fill(q, 64, 1)
	if fmt.Sprint(vs) != "[a1 b1 a2 a3]" {
		t.Fatalf("batch %v, want [a1 b1 a2 a3] (push order)", vs)
	}
	if tk := b.tickets; !tk[0].holds() || !tk[1].holds() || tk[2].holds() || tk[3].holds() {
		t.Fatalf("tickets %v: want a1 and b1 holding their lanes, a2 and a3 nothing", tk)
	}
	q.Push(keyA, "a4")
	q.Push(keyB+1, "c1")
	if _, vs2, _ := fill(q, 64, 1); fmt.Sprint(vs2) != "[c1]" {
		t.Fatalf("second batch %v, want [c1]: a4 waits while a1-a3 run", vs2)
	}
	q.Finish(b)
	if _, vs3, _ := fill(q, 64, 1); fmt.Sprint(vs3) != "[a4]" {
		t.Fatalf("after the first batch %v, want [a4]", vs3)
	}
}

// TestAnItemQueuedBeforeItsLaneWasTakenStaysAheadOfLaterOnes: a1 runs, a2
// is still queued (the batch was full), a3 comes while a1 runs; when a1 is
// done, a2 must run before a3, though a3 went to wait in the lane first.
func TestAnItemQueuedBeforeItsLaneWasTakenStaysAheadOfLaterOnes(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1")
	q.Push(keyA, "a2")
	b1, v1, _ := take(q)
	if v1 != "a1" {
		t.Fatalf("first %s, want a1", v1)
	}
	q.Push(keyA, "a3")
	q.Finish(b1)
	var got []string
	for q.Len() > 0 {
		bk, v, _ := take(q)
		got = append(got, v)
		q.Finish(bk)
	}
	if fmt.Sprint(got) != "[a2 a3]" {
		t.Fatalf("then %v, want [a2 a3]", got)
	}
}

// TestHotKeysSpreadOverWorkers: two keys with many items each and two
// workers: each worker's batch gets one key, not both, so the keys run in
// parallel, and no batch holds two items of one key.
func TestHotKeysSpreadOverWorkers(t *testing.T) {
	q := New(16, linksFor[string]())
	for i := range 50 {
		q.Push(keyA, fmt.Sprint("a", i))
		q.Push(keyB, fmt.Sprint("b", i))
	}
	if _, v1, _ := fill(q, 64, 2); fmt.Sprint(v1) != "[a0]" {
		t.Fatalf("first batch %v, want [a0]: one key, the other left for the other worker", v1)
	}
	if _, v2, _ := fill(q, 64, 2); fmt.Sprint(v2) != "[b0]" {
		t.Fatalf("second batch %v, want [b0]", v2)
	}
	if q.Len() != 98 {
		t.Fatalf("Len = %d, want 98 waiting", q.Len())
	}
}

// take is a worker taking one item: a batch of one, its item taken. Finish
// the batch when the item is done.
func take[T comparable](q *Queue[T]) (*Batch[T], T, bool) {
	b, vs, ok := fill(q, 1, 1)
	if !ok {
		var zero T
		return b, zero, false
	}
	return b, vs[0], true
}

// fill is a worker filling a batch of up to max items and taking each, as
// it runs them (takeAll). Finish the batch when they are done.
func fill[T comparable](q *Queue[T], max, workers int) (*Batch[T], []T, bool) {
	b := new(Batch[T])
	if !q.Fill(b, max, workers) {
		return b, nil, false
	}
	return b, takeAll(b), true
}
