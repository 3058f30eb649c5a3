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
	q := New[string, int]()
	const keys, perKey, workers = 50, 40, 8
	type rec struct {
		key string
		seq int
	}
	var (
		mu       sync.Mutex
		seen     = map[string][]int{}
		running  = map[string]bool{}
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
			items[id] = rec{fmt.Sprint("k", k), s}
			id++
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, v, ok := q.Next()
				if !ok {
					return
				}
				r := items[v]
				mu.Lock()
				if running[key] {
					t.Errorf("key %s ran twice at once", key)
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
				q.Done(key)
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
				t.Fatalf("key %s: item %d ran at position %d", k, s, i)
			}
		}
	}
	if maxIn.Load() < 2 {
		t.Fatalf("at most %d item in flight: keys did not run in parallel", maxIn.Load())
	}
}

func TestDropPromotesSurvivorsAndSkipsDropped(t *testing.T) {
	q := New[string, string]()
	q.Push("a", "a1-drop")
	q.Push("a", "a2-drop")
	q.Push("b", "b1")
	q.Push("", "u-drop")
	dropped := q.Drop(func(v string) bool { return len(v) > 4 && v[len(v)-4:] == "drop" })
	if len(dropped) != 3 {
		t.Fatalf("dropped %v, want 3 items", dropped)
	}
	if q.Len() != 1 {
		t.Fatalf("Len = %d after drop, want 1", q.Len())
	}
	key, v, _ := q.Next()
	if v != "b1" {
		t.Fatalf("next = %s, want b1", v)
	}
	q.Done(key)
	// Key "a" is free again: a new item runs at once.
	q.Push("a", "a3")
	if _, v, _ := q.Next(); v != "a3" {
		t.Fatalf("next = %s, want a3", v)
	}
}

func TestDropKeepsKeyBusyWhileItsHeadRuns(t *testing.T) {
	q := New[string, string]()
	q.Push("a", "a1")
	q.Push("a", "a2")
	_, v, _ := q.Next() // a1 running
	if v != "a1" {
		t.Fatal(v)
	}
	q.Drop(func(v string) bool { return v == "a2" })
	q.Push("a", "a3")
	if q.Len() != 1 {
		t.Fatalf("a3 should wait behind running a1; Len=%d", q.Len())
	}
	q.Done("a")
	if _, v, _ := q.Next(); v != "a3" {
		t.Fatalf("next = %s, want a3", v)
	}
}
