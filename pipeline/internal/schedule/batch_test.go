package schedule

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	keyC = 1<<63 | 3
	keyD = 1<<63 | 4
)

// takeAll runs b's items as a worker would, returning them.
func takeAll[T comparable](b *Batch[T]) []T {
	var got []T
	for v, ok := b.Take(); ok; v, ok = b.Take() {
		got = append(got, v)
	}
	return got
}

// TestStealHandsTheRestOfAStuckBatchToTheOthers: a worker's batch is
// [a1 b1 a2 c1 d1], a1 is done and b1 hangs. Stealing gives a2, c1 and d1
// to another worker at once, a2 still after a1 and a3 (pushed later) after
// a2; b's next item waits for b1 itself.
func TestStealHandsTheRestOfAStuckBatchToTheOthers(t *testing.T) {
	q := New(16, linksFor[string]())
	keys := map[byte]uint64{'a': keyA, 'b': keyB, 'c': keyC, 'd': keyD}
	push := func(vs ...string) {
		for _, v := range vs {
			q.Push(keys[v[0]], v)
		}
	}
	push("a1", "b1", "a2", "c1", "d1")
	var stuck Batch[string]
	if !q.Fill(&stuck, 64, 1) {
		t.Fatal("Fill reported the queue closed")
	}
	if v, _ := stuck.Take(); v != "a1" {
		t.Fatalf("first item %s, want a1", v)
	}
	if v, _ := stuck.Take(); v != "b1" { // and hangs in it
		t.Fatalf("second item %s, want b1", v)
	}
	push("a3", "b2")
	if n := q.Steal(&stuck); n != 3 {
		t.Fatalf("stole %d items, want 3 (a2 c1 d1)", n)
	}
	if v, ok := stuck.Take(); ok {
		t.Fatalf("the stuck worker took %s after its batch was stolen", v)
	}
	var other Batch[string]
	q.Fill(&other, 64, 1)
	// Across keys the order is oldest first give or take (see buckets);
	// within a key it is exact.
	got := takeAll(&other)
	pos := map[string]int{}
	for i, v := range got {
		pos[v] = i
	}
	if len(got) != 4 || pos["a2"] > pos["a3"] {
		t.Fatalf("the other worker got %v, want a2, c1, d1 and a3, a2 before a3; b2 waits behind b1", got)
	}
	for _, v := range []string{"a2", "a3", "c1", "d1"} {
		if _, ok := pos[v]; !ok {
			t.Fatalf("the other worker got %v, without %s", got, v)
		}
	}
	q.Finish(&other)
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (b2, behind b1)", q.Len())
	}
	q.Finish(&stuck) // b1 returned
	q.Fill(&other, 64, 1)
	if got := fmt.Sprint(takeAll(&other)); got != "[b2]" {
		t.Fatalf("after b1 %s, want [b2]", got)
	}
	if n := q.Steal(&other); n != 0 {
		t.Fatalf("stole %d items from a batch that was all taken", n)
	}
}

// TestStealKeepsTheLaneOfTheItemThatRuns: batch [a1 a2 b1], a1 done, a2
// (which holds nothing: a1 took the lane for both) hangs. Stealing releases
// the lanes of finished items early, but not a's, which a2 still runs in:
// a3 waits for the stuck worker, b1 does not.
func TestStealKeepsTheLaneOfTheItemThatRuns(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1")
	q.Push(keyA, "a2")
	q.Push(keyB, "b1")
	var stuck, other Batch[string]
	q.Fill(&stuck, 64, 1)
	stuck.Take()
	if v, _ := stuck.Take(); v != "a2" {
		t.Fatalf("second item %s, want a2", v)
	}
	q.Push(keyA, "a3")
	if n := q.Steal(&stuck); n != 1 {
		t.Fatalf("stole %d items, want 1 (b1)", n)
	}
	q.Fill(&other, 64, 1)
	if got := fmt.Sprint(takeAll(&other)); got != "[b1]" {
		t.Fatalf("the other worker got %s while a2 runs, want [b1]", got)
	}
	q.Finish(&other)
	q.Finish(&stuck)
	q.Fill(&other, 64, 1)
	if got := fmt.Sprint(takeAll(&other)); got != "[a3]" {
		t.Fatalf("after a2 %s, want [a3]", got)
	}
}

// TestStealKeepsEveryKeyInOrder runs keys on workers that take batches,
// some in one-worker mode (a key's items grouped in a batch), some in
// many-worker mode, while a thief steals from them at random: every item
// runs once, each key's items in push order, and a lane's (the keys that
// share it) one at a time.
func TestStealKeepsEveryKeyInOrder(t *testing.T) {
	q := New(64, linksFor[int]()) // 64 lanes for 40 keys: some are shared
	const keys, total, workers = 40, 3000, 4
	keyOf := make([]uint64, total) // at random, so that batches hold a key's items together
	perKey := map[uint64]int{}
	for i, rng := 0, rand.New(rand.NewSource(1)); i < total; i++ {
		h := uint64(rng.Intn(keys)+1) * 0x9E3779B97F4A7C15
		keyOf[i] = (h ^ h>>29) | 1<<63
		perKey[keyOf[i]]++
	}
	key := func(i int) uint64 { return keyOf[i] }
	var (
		mu      sync.Mutex
		ran     = map[uint64][]int{}
		running = map[uint64]bool{}
		done    atomic.Int32
		stolen  atomic.Int64
	)
	batches := make([]Batch[int], workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			b := &batches[w]
			for {
				mode := 1
				if rng.Intn(2) == 0 {
					mode = workers
				}
				if !q.Fill(b, 8, mode) {
					return
				}
				n := 0
				for v, ok := b.Take(); ok; v, ok = b.Take() {
					k := key(v)
					mu.Lock()
					// Per lane, not per key: keys that share a lane are
					// kept in order against each other too.
					if running[k&q.mask] {
						t.Errorf("lane %d (key %x) ran twice at once", k&q.mask, k)
					}
					running[k&q.mask] = true
					mu.Unlock()
					if rng.Intn(20) == 0 {
						time.Sleep(time.Millisecond) // stuck for a while
					} else {
						time.Sleep(time.Duration(rng.Intn(50)) * time.Microsecond)
					}
					mu.Lock()
					running[k&q.mask] = false
					ran[k] = append(ran[k], v)
					mu.Unlock()
					n++
				}
				q.Finish(b)
				if done.Add(int32(n)) == int32(total) {
					q.Close()
				}
			}
		}()
	}
	stop := make(chan struct{})
	thief := make(chan struct{})
	go func() {
		defer close(thief)
		rng := rand.New(rand.NewSource(99))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rng.Intn(300)) * time.Microsecond):
			}
			stolen.Add(int64(q.Steal(&batches[rng.Intn(workers)])))
		}
	}()
	for i := range total {
		q.Push(key(i), i)
	}
	wg.Wait()
	close(stop)
	<-thief
	if int(done.Load()) != total {
		t.Fatalf("%d items ran, want %d", done.Load(), total)
	}
	for k, vs := range ran {
		for i := 1; i < len(vs); i++ {
			if vs[i] <= vs[i-1] {
				t.Fatalf("key %x: item %d ran after %d", k, vs[i], vs[i-1])
			}
		}
		if len(vs) != perKey[k] {
			t.Fatalf("key %x: %d items ran, want %d", k, len(vs), perKey[k])
		}
	}
	if stolen.Load() == 0 {
		t.Fatal("nothing was stolen: the test did not test stealing")
	}
	t.Logf("%d items stolen", stolen.Load())
}

// TestProgressMovesOnlyWithItsWorker: the watcher reads Progress to tell
// that a worker is still in one item, and counts one stall per item; a
// Steal must not look like the worker moved on, or the same hung item
// would be counted again.
func TestProgressMovesOnlyWithItsWorker(t *testing.T) {
	q := New(16, linksFor[string]())
	q.Push(keyA, "a1")
	q.Push(keyB, "b1")
	var b Batch[string]
	q.Fill(&b, 64, 1)
	filled := b.Progress()
	b.Take() // a1, and hangs in it
	took := b.Progress()
	if took == filled {
		t.Fatal("Progress did not change when the worker took an item")
	}
	if n := q.Steal(&b); n != 1 {
		t.Fatalf("stole %d items, want 1 (b1)", n)
	}
	if b.Progress() != took {
		t.Fatal("Progress changed at a Steal, with the worker still in a1")
	}
	q.Finish(&b)
	q.Fill(&b, 64, 1)
	if b.Progress() == took {
		t.Fatal("Progress did not change when the batch was filled anew")
	}
}
