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
//
// The watcher ticks only while it has something to watch: workers
// narrowed to one and a batch running. Otherwise it parks, and the next
// batch or the narrowing wakes it. Ticking every 0.5 ms regardless cost an
// idle processor on 480 partitions 4.4% of a core (2,000 wake-ups of an
// idle thread a second), the same share of a passthrough's CPU per record.
type spread struct {
	on atomic.Bool
	// busy is per worker the monoNow reading at the start of its current
	// batch, 0 between batches.
	busy []atomic.Int64
	// parked says the watcher waits on wake for a batch to start or the
	// workers to narrow. Workers read it once per batch, and only poke
	// wake while it is set.
	parked atomic.Bool
	wake   chan struct{}

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
	s := &spread{busy: make([]atomic.Int64, workers), wake: make(chan struct{}, 1), done: make(chan struct{})}
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
func (s *spread) started(id int, now time.Duration) {
	s.busy[id].Store(int64(now) | 1)
	s.poke()
}

// poke wakes the watcher if it is parked; a wake-up already pending will
// do.
func (s *spread) poke() {
	if !s.parked.Load() {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

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
		if s.on.Load() {
			s.on.Store(false)
			s.poke()
		}
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
		if !s.watching() {
			// Park, then look again: a worker stores busy (or on) before
			// it reads parked, and this stores parked before it reads
			// them, so one of the two sees the other's write and no
			// batch starts unwatched.
			s.parked.Store(true)
			if !s.watching() {
				select {
				case <-s.done:
					return
				case <-s.wake:
				}
			}
			s.parked.Store(false)
			tick.Reset(stuckAfter / 2)
			continue
		}
		select {
		case <-s.done:
			return
		case <-tick.C:
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

// watching reports whether watch has something to watch: the workers are
// narrowed to one and a batch is running.
func (s *spread) watching() bool {
	if s.on.Load() {
		return false
	}
	for i := range s.busy {
		if s.busy[i].Load() != 0 {
			return true
		}
	}
	return false
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
