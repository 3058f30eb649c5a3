package pipeline

import (
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
