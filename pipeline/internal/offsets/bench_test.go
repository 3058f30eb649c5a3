package offsets

import (
	"math/rand"
	"testing"
)

// BenchmarkStartFinish starts and finishes a record per iteration, with
// `inflight` records running at once and finishing in random order among
// them, as the workers finish them (near): or in any order over the whole
// window of 50,000 (shuffled), the worst case for the run bookkeeping.
func BenchmarkStartFinish(b *testing.B) {
	for _, c := range []struct {
		name     string
		inflight int
	}{{"near-64", 64}, {"near-1024", 1024}, {"shuffled-50000", 50000}} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			w := NewWindow()
			running := make([]int64, 0, c.inflight)
			var next int64
			for range c.inflight {
				_ = w.Start(next)
				running = append(running, next)
				next++
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				k := rng.Intn(len(running))
				if err := w.Finish(running[k]); err != nil {
					b.Fatal(err)
				}
				_ = w.Start(next)
				running[k] = next
				next++
			}
		})
	}
}

// BenchmarkAppendMetadata encodes a window of 50,000 records in which 1 in
// 100 is unfinished, with 64 more running at its front: one commit's work.
func BenchmarkAppendMetadata(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	w := NewWindow()
	for o := int64(0); o < 50_064; o++ {
		_ = w.Start(o)
	}
	for o := int64(1); o < 50_000; o++ {
		if o%100 != 0 {
			_ = w.Finish(o)
		}
	}
	for o := int64(50_000); o < 50_064; o++ {
		if rng.Intn(2) == 0 {
			_ = w.Finish(o)
		}
	}
	buf := w.AppendMetadata(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = w.AppendMetadata(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}
