package pipeline

import (
	"testing"
	"time"
)

// feed passes n records through s, spaced by gap on its clock, and returns
// how many were timed and the weights their times stood for.
func feed(s *sampler, clock *time.Duration, n int, gap time.Duration) (timed int, weights []uint64) {
	for range n {
		*clock += gap
		if s.next() {
			timed++
			weights = append(weights, s.timed(*clock))
		}
	}
	return timed, weights
}

// TestSamplerTimesEverySlowRecord: records that come slower than one per
// sampleSpacing are all timed, each counted once, so the histograms of a
// processor under light load are exact.
func TestSamplerTimesEverySlowRecord(t *testing.T) {
	var s sampler
	var clock time.Duration
	timed, weights := feed(&s, &clock, 1000, sampleSpacing)
	if timed != 1000 {
		t.Fatalf("timed %d of 1000 slow records", timed)
	}
	for i, w := range weights {
		if w != 1 {
			t.Fatalf("record %d counted %d times", i, w)
		}
	}
}

// TestSamplerWeighsFastRecords: of records that come fast, about one in
// sampleEvery is timed, at most 2*sampleEvery-1 apart, and the weights add
// up to every record up to the last timed one: a histogram's count trails
// by less than 2*sampleEvery. When records slow down again every one is
// timed from the next timed one on.
func TestSamplerWeighsFastRecords(t *testing.T) {
	var s sampler
	var clock time.Duration
	const n = 80_000
	timed, weights := feed(&s, &clock, n, time.Microsecond)
	var sum uint64
	for _, w := range weights {
		if w < 1 || w > 2*sampleEvery-1 {
			t.Fatalf("a timed record stood for %d records, want 1..%d", w, 2*sampleEvery-1)
		}
		sum += w
	}
	if want := n / sampleEvery; timed < want*9/10 || timed > want*11/10 {
		t.Errorf("timed %d of %d fast records, want about %d", timed, n, want)
	}
	if trailing := n - sum; trailing >= 2*sampleEvery {
		t.Errorf("weights add up to %d of %d records", sum, n)
	}
	// Slow again: after at most one more timed record, every one is.
	_, weights = feed(&s, &clock, 100, time.Millisecond)
	for i, w := range weights[1:] {
		if w != 1 {
			t.Fatalf("slow record %d after fast ones counted %d times", i+1, w)
		}
	}
}
