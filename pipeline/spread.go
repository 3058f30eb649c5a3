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
// A worker runs its batch's records one after another, so a handler that
// hangs would also hold back the rest of its batch, up to 63 records of
// other keys. The watcher sees that a worker has been in one record for
// stallAfter (a millisecond, or 8 times the worker's usual handler time if
// that is longer) and steals the records of its batch it has not started,
// which go back to the queue, keys in order, for the other workers.
//
// The watcher ticks only while it has something to watch: a batch
// running. Otherwise it parks, and the next batch wakes it. Ticking every
// 0.5 ms regardless cost an idle processor on 480 partitions 4.4% of a
// core (2,000 wake-ups of an idle thread a second), the same share of a
// passthrough's CPU per record; while batches run, the ticks measured
// within the noise (passthrough on 480 partitions, 4 interleaved rounds,
// 2026-12-07: 1,367-1,696 ns per record with them, 1,395-1,585 without).
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
	// stall is the workers' batches, which the watcher steals from (nil:
	// it only engages workers). usual is per worker the mean time of the
	// timed handlers of its last batch that had some.
	stall stealer
	usual []atomic.Int64

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	done   chan struct{} // closed with closed, for watch
}

// A stealer is what the watcher needs of the workers' batches.
type stealer interface {
	// progress changes whenever worker id starts a record or a batch.
	progress(id int) uint64
	// steal hands the records of worker id's batch it has not started to
	// the others and returns how many. The watcher calls it once per
	// record a worker stalls in.
	steal(id int) int
}

// stuckAfter is how long a batch may run before every worker is engaged:
// a batch of light handlers (64 records) takes well under a millisecond.
// It is also the least time a worker is in one record before the rest of
// its batch is stolen (stallAfter).
const stuckAfter = time.Millisecond

// stallUsual is how many times its usual handler time a worker may be in
// one record before the rest of its batch is stolen: handlers that all take
// 5 ms keep their batches.
const stallUsual = 8

// newSpread returns the spread of workers workers, all engaged until the
// first batch says otherwise; the watcher steals from stall's batches (nil:
// it does not steal).
func newSpread(workers int, stall stealer) *spread {
	s := &spread{busy: make([]atomic.Int64, workers), wake: make(chan struct{}, 1), done: make(chan struct{}),
		stall: stall, usual: make([]atomic.Int64, workers)}
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
	s.usual[id].Store(int64(perHandler))
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

// stallAfter is how long worker id may be in one record before the rest
// of its batch is stolen.
func (s *spread) stallAfter(id int) time.Duration {
	return max(stuckAfter, stallUsual*time.Duration(s.usual[id].Load()))
}

// watch engages every worker when a batch has run stuckAfter, and steals
// the rest of a batch whose worker has been in one record for stallAfter,
// until the spread is closed.
func (s *spread) watch() {
	if len(s.busy) == 1 {
		return
	}
	// Per worker, the progress last seen, since when, and whether the
	// record it is in was already stolen behind.
	type seen struct {
		progress uint64
		since    time.Duration
		stolen   bool
	}
	last := make([]seen, len(s.busy))
	tick := time.NewTimer(stuckAfter / 2)
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
		// The next tick: at half the shortest time any running batch
		// is watched for, so that it is seen within 1.5 times it.
		next := time.Duration(0)
		narrowed := !s.on.Load()
		for i := range s.busy {
			b := time.Duration(s.busy[i].Load())
			if b == 0 {
				continue
			}
			if narrowed && now-b >= stuckAfter {
				s.engage()
				narrowed = false
			}
			watch := stuckAfter
			if s.stall != nil {
				stall := s.stallAfter(i)
				if !narrowed {
					watch = stall
				}
				if p, w := s.stall.progress(i), &last[i]; p != w.progress {
					*w = seen{progress: p, since: now}
				} else if !w.stolen && now-w.since >= stall {
					// Once per stalled record: its batch is fixed once
					// filled, so a second steal would find nothing.
					w.stolen = true
					if s.stall.steal(i) > 0 {
						s.engage()
					}
				}
			}
			if next == 0 || watch/2 < next {
				next = watch / 2
			}
		}
		if next == 0 {
			next = stuckAfter / 2 // nothing ran: the top of the loop parks unless a batch starts
		}
		tick.Reset(next)
	}
}

// watching reports whether watch has something to watch: a batch is
// running, and either the workers are narrowed to one or there are
// batches to steal from.
func (s *spread) watching() bool {
	if s.on.Load() && s.stall == nil {
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
