package pipeline

import (
	"sync"
	"testing"
	"time"
)

// TestSpreadFollowsTheHandlersShareOfEachRecord: light handlers (a small
// share of a batch's time per record) narrow the workers to one, heavy ones
// engage them all, and in between the last decision stands.
func TestSpreadFollowsTheHandlersShareOfEachRecord(t *testing.T) {
	s := newSpread(4, nil)
	batch := func(perRecord, perHandler time.Duration) {
		s.started(1, time.Second)
		s.ran(1, time.Second+64*perRecord, 64, 8, 8*perHandler)
	}
	if s.active() != 4 {
		t.Fatalf("before any batch %d workers active, want all 4", s.active())
	}
	steps := []struct {
		perRecord, perHandler time.Duration
		want                  int
	}{
		{2 * time.Microsecond, 100 * time.Nanosecond, 1},  // passthrough
		{2 * time.Microsecond, 700 * time.Nanosecond, 1},  // a third: stays narrow
		{20 * time.Microsecond, 19 * time.Microsecond, 4}, // a real transform
		{2 * time.Microsecond, 700 * time.Nanosecond, 4},  // a third: stays wide
		{2 * time.Microsecond, 400 * time.Nanosecond, 1},  // a fifth
	}
	for i, st := range steps {
		batch(st.perRecord, st.perHandler)
		if got := s.active(); got != st.want {
			t.Fatalf("step %d (%v per record, %v in the handler): %d workers active, want %d", i, st.perRecord, st.perHandler, got, st.want)
		}
	}
}

// TestSpreadEngagesEveryWorkerWhenABatchIsStuck: with one worker active, a
// batch that runs past stuckAfter (a handler blocked on something) wakes
// the waiting workers without waiting for the batch to end.
func TestSpreadEngagesEveryWorkerWhenABatchIsStuck(t *testing.T) {
	s := newSpread(2, nil)
	s.started(0, monoNow())
	s.ran(0, monoNow()+64*time.Microsecond, 64, 8, 8*time.Nanosecond)
	if s.active() != 1 {
		t.Fatal("light handlers did not narrow the workers to one")
	}
	woke := make(chan bool)
	go func() { woke <- s.wait(1) }()
	select {
	case <-woke:
		t.Fatal("worker 1 took records while handlers were light and nothing was stuck")
	case <-time.After(20 * time.Millisecond):
	}
	go s.watch()
	defer s.close()
	s.started(0, monoNow()) // and never ends
	select {
	case ok := <-woke:
		if !ok {
			t.Fatal("wait reported the spread closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a batch running for seconds did not engage worker 1")
	}
}

// TestSpreadCloseReleasesWaitingWorkers: shutdown does not leave a worker
// waiting for records that never come.
func TestSpreadCloseReleasesWaitingWorkers(t *testing.T) {
	s := newSpread(2, nil)
	s.started(0, monoNow())
	s.ran(0, monoNow()+64*time.Microsecond, 64, 8, 8*time.Nanosecond)
	done := make(chan bool)
	go func() { done <- s.wait(1) }()
	s.close()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("wait returned true after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close left worker 1 waiting")
	}
}

// TestSpreadWatcherParksWhileNothingRuns: the watcher does not tick while
// no batch runs (an idle processor) or while every worker is engaged; it
// used to wake every 0.5 ms regardless, 4.4% of a core on an idle
// processor. A batch that starts after it parked is still watched.
func TestSpreadWatcherParksWhileNothingRuns(t *testing.T) {
	s := newSpread(2, nil)
	eventually := func(failure string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(failure)
			}
		}
	}
	parked := func(what string) {
		t.Helper()
		eventually("the watcher did not park "+what, s.parked.Load)
	}
	go s.watch()
	defer s.close()
	parked("while every worker was engaged")
	s.started(0, monoNow())
	s.ran(0, monoNow()+64*time.Microsecond, 64, 8, 8*time.Nanosecond)
	if s.active() != 1 {
		t.Fatal("light handlers did not narrow the workers to one")
	}
	parked("after narrowing, with no batch running")
	s.started(0, monoNow()) // and never ends
	eventually("a batch that started while the watcher was parked ran for seconds without engaging worker 1",
		func() bool { return s.active() == 2 })
	parked("once every worker was engaged again")
}

// fakeStealer is a stealer whose workers never progress: every batch it
// is asked about is in its first record for good.
type fakeStealer struct {
	mu     sync.Mutex
	steals []int           // per worker
	first  []time.Duration // per worker, monoNow at its first steal
}

func (f *fakeStealer) progress(int) uint64 { return 1 }
func (f *fakeStealer) steal(id int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.steals[id]++; f.steals[id] == 1 {
		f.first[id] = monoNow()
	}
	return 63
}

// stolen returns how often worker id was stolen from and when first.
func (f *fakeStealer) stolen(id int) (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.steals[id], f.first[id]
}

// TestSpreadStealsOnceFromAWorkerStuckInOneRecord: a worker that has been
// in one record for stallAfter has the rest of its batch stolen, once per
// record, not at every tick after; a worker whose handlers usually take
// 5 ms keeps its batch for 8 times that, not for stuckAfter alone.
func TestSpreadStealsOnceFromAWorkerStuckInOneRecord(t *testing.T) {
	f := &fakeStealer{steals: make([]int, 2), first: make([]time.Duration, 2)}
	s := newSpread(2, f)
	// Worker 1's handlers take 5 ms (a batch of 4 in 20 ms).
	s.started(1, monoNow())
	s.ran(1, monoNow()+20*time.Millisecond, 4, 4, 20*time.Millisecond)
	const slow = stallUsual * 5 * time.Millisecond
	go s.watch()
	defer s.close()
	start := monoNow()
	s.started(0, start)
	s.started(1, start)
	for _, w := range []struct {
		id    int
		after time.Duration
	}{{0, stuckAfter}, {1, slow}} {
		for n, _ := f.stolen(w.id); n == 0; n, _ = f.stolen(w.id) {
			if monoNow()-start > 5*time.Second {
				t.Fatalf("worker %d was in one record for 5 s and nothing was stolen", w.id)
			}
			time.Sleep(100 * time.Microsecond)
		}
		if _, at := f.stolen(w.id); at-start < w.after {
			t.Errorf("stolen from worker %d after %v in one record, want at least %v", w.id, at-start, w.after)
		}
	}
	time.Sleep(20 * time.Millisecond) // dozens of ticks
	if a, _ := f.stolen(0); a != 1 {
		t.Errorf("worker 0 stuck in one record was stolen from %d times, want once", a)
	}
	if b, _ := f.stolen(1); b != 1 {
		t.Errorf("worker 1 stuck in one record was stolen from %d times, want once", b)
	}
}
