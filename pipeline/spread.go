package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// spread decides whether records are spread over all workers or run on
// the first alone. Workers parallelize handlers; they do not parallelize
// the runtime around them, whose producing goes through the client's
// per-topic lock either way. When handlers are light, a second worker adds
// no throughput, only the hand-offs between cores and that lock's
// contention: a passthrough processor on 480 partitions took 8-12% less
// CPU per record with Workers(1) than with 2, at the same or a higher
// rate (BenchmarkRuntimeOverheadKafka's harness, 2 cores, interleaved).
//
// So after each batch the worker that ran it compares the time its timed
// handlers took with the batch's time per record: while handlers take at
// least half of it, all workers take records; once they take under a
// quarter, only worker 0 does, and the others wait. A handler that blocks
// (a slow call, a stalled dependency) must not hold the other records
// back meanwhile: a watcher engages every worker as soon as any batch has
// run stuckAfter, without waiting for it to end.
type spread struct {
	on atomic.Bool
	// busy is per worker the monoNow reading at the start of its current
	// batch, 0 between batches.
	busy []atomic.Int64

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	done   chan struct{} // closed with closed, for watch
}

// stuckAfter is how long a batch may run before every worker is engaged:
// a batch of light handlers (64 records) takes well under a millisecond.
const stuckAfter = time.Millisecond

// newSpread returns the spread of workers workers, all engaged until the
// first batch says otherwise.
func newSpread(workers int) *spread {
	s := &spread{busy: make([]atomic.Int64, workers), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	s.on.Store(true)
	return s
}

// active returns how many workers take records now.
func (s *spread) active() int {
	if s.on.Load() {
		return len(s.busy)
	}
	return 1
}

// wait blocks worker id until it is to take records, and reports false
// once the spread is closed. Worker 0 never waits.
func (s *spread) wait(id int) bool {
	if id == 0 || s.on.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.on.Load() && !s.closed {
		s.cond.Wait()
	}
	return !s.closed
}

// started notes that worker id began a batch at now (monoNow).
func (s *spread) started(id int, now time.Duration) { s.busy[id].Store(int64(now) | 1) }

// ran notes that worker id finished a batch of n records at now, in which
// timed records' handlers took handler in all.
func (s *spread) ran(id int, now time.Duration, n, timed int, handler time.Duration) {
	start := time.Duration(s.busy[id].Load())
	s.busy[id].Store(0)
	if timed == 0 || n == 0 || len(s.busy) == 1 {
		return
	}
	perHandler, perRecord := handler/time.Duration(timed), (now-start)/time.Duration(n)
	switch {
	case 2*perHandler >= perRecord:
		s.engage()
	case 4*perHandler < perRecord:
		s.on.Store(false)
	}
}

// engage lets every worker take records.
func (s *spread) engage() {
	if s.on.Load() {
		return
	}
	s.mu.Lock()
	s.on.Store(true)
	s.mu.Unlock()
	s.cond.Broadcast()
}

// watch engages every worker when a batch has run stuckAfter, until the
// spread is closed.
func (s *spread) watch() {
	if len(s.busy) == 1 {
		return
	}
	tick := time.NewTicker(stuckAfter / 2)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		if s.on.Load() {
			continue
		}
		now := monoNow()
		for i := range s.busy {
			if b := time.Duration(s.busy[i].Load()); b != 0 && now-b >= stuckAfter {
				s.engage()
				break
			}
		}
	}
}

// close releases the waiting workers and ends watch. It may be called
// more than once.
func (s *spread) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.cond.Broadcast()
}
