package schedule

import (
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
	// 64 lanes for 50 keys: some keys share a lane, which must still
	// keep each key in order.
	q := New[int](64)
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
				ticket, v, ok := q.Next()
				if !ok {
					return
				}
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
				q.Done(ticket)
				if finished.Add(1) == int32(total) {
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
	q := New[string](16)
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
	ticket, v, _ := q.Next()
	if v != "b1" {
		t.Fatalf("next = %s, want b1", v)
	}
	q.Done(ticket)
	// Key a is free again: a new item runs at once.
	q.Push(keyA, "a3")
	if _, v, _ := q.Next(); v != "a3" {
		t.Fatalf("next = %s, want a3", v)
	}
}

func TestDropKeepsKeyBusyWhileItsHeadRuns(t *testing.T) {
	q := New[string](16)
	q.Push(keyA, "a1")
	q.Push(keyA, "a2")
	ticket, v, _ := q.Next() // a1 running
	if v != "a1" {
		t.Fatal(v)
	}
	q.Drop(func(v string) bool { return v == "a2" })
	q.Push(keyA, "a3")
	if q.Len() != 1 {
		t.Fatalf("a3 should wait behind running a1; Len=%d", q.Len())
	}
	q.Done(ticket)
	if _, v, _ := q.Next(); v != "a3" {
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
	q := New[string](16)
	q.Push(keyA, "a1")
	q.Push(keyA+16, "c1") // same lane as keyA
	q.Push(keyB, "b1")
	t1, v1, _ := q.Next()
	_, v2, _ := q.Next()
	if v1 != "a1" || v2 != "b1" {
		t.Fatalf("ran %s, %s; want a1 then b1 (c1 waits behind a1's lane)", v1, v2)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (c1 waiting)", q.Len())
	}
	q.Done(t1)
	if _, v, _ := q.Next(); v != "c1" {
		t.Fatalf("next = %s, want c1", v)
	}
}

func TestNewRoundsLanesToAPowerOfTwo(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 1}, {1, 1}, {3, 4}, {1000, 1024}, {1024, 1024}} {
		if got := len(New[int](tc.in).lanes); got != tc.want {
			t.Errorf("New(%d) has %d lanes, want %d", tc.in, got, tc.want)
		}
	}
}
