package pipeline

import (
	"math/rand/v2"
	"time"
)

// Timing every record costs clock reads (45-60 ns each on the virtual
// machines Sluice was measured on, see clock.go) and a histogram update:
// the handler and end-to-end histograms took ~100 ns of a passthrough
// processor's ~800 per record. A latency histogram needs the distribution,
// not every record, so each is fed by a sampler: while records come slower
// than one per sampleSpacing every record is timed, as before; faster, one
// in about sampleEvery is, picked at random (so that no batch position or
// key pattern lines up with the picks), and counted for itself and the
// untimed records before it. At such rates a scrape window holds hundreds
// of thousands of records, and the timed ones give the same quantiles.
const (
	sampleSpacing = 20 * time.Microsecond
	sampleEvery   = 8
)

// sampler picks the records a histogram times. It is used by one goroutine
// at a time: a worker for handler times, the produce promises (which kgo
// calls serially) for end-to-end times.
type sampler struct {
	left   int           // records to let pass untimed before the next timed one
	weight uint64        // records since the last timed one, counted by next
	last   time.Duration // monoNow after the last timed record
}

// next reports whether the record that comes now is to be timed; if it is,
// the caller reports its clock reading to timed.
func (s *sampler) next() bool {
	s.weight++
	if s.left > 0 {
		s.left--
		return false
	}
	return true
}

// timed takes the clock (monoNow) after a timed record and returns how many
// records its time stands for: itself and those let pass since the last
// one. So a histogram's count trails the records by less than
// 2*sampleEvery, and is exact whenever records come slowly.
func (s *sampler) timed(now time.Duration) uint64 {
	w := s.weight
	s.weight = 0
	if now-s.last < sampleSpacing*time.Duration(w) {
		s.left = rand.IntN(2*sampleEvery - 1) // 0..14 let pass: one in 8 on average
	} else {
		s.left = 0
	}
	s.last = now
	return w
}
