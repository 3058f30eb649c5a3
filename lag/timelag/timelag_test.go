package timelag

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// produced is a synthetic producer: records per second vary between 20 and
// 380 along a sine, plus a 30-second pause, so linear interpolation is
// never exactly right.
func produced(s float64) float64 {
	rate := func(x float64) float64 {
		if x >= 200 && x < 230 {
			return 0
		}
		return 200 + 180*math.Sin(x/40)
	}
	// integrate numerically at 10 ms steps
	var total float64
	for x := 0.0; x < s; x += 0.01 {
		total += rate(x) * 0.01
	}
	return total
}

// truthLag returns when offset c was produced in the synthetic history.
func truthTime(c int64) float64 {
	lo, hi := 0.0, 1000.0
	for hi-lo > 0.001 {
		mid := (lo + hi) / 2
		if produced(mid) >= float64(c+1) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

func TestLagWithinTenPercentOfTruthOnSyntheticHistory(t *testing.T) {
	h := NewHistory(10 * time.Minute)
	ends := map[int]float64{}
	for s := 0; s <= 400; s += 5 {
		ends[s] = math.Floor(produced(float64(s)))
		h.Add(at(float64(s)), int64(ends[s]))
	}
	now := at(400)
	checked := 0
	for _, behind := range []float64{8, 20, 45, 90, 150, 175, 240, 300} {
		committed := int64(produced(400 - behind))
		truth := 400 - truthTime(committed)
		got := h.Lag(committed, now)
		if !got.Known {
			t.Errorf("behind %.0fs: estimate unknown (%s)", behind, got.Reason)
			continue
		}
		if math.Abs(got.Seconds-truth) > 0.1*truth {
			t.Errorf("committed %d: estimated %.2fs, truth %.2fs (more than 10%% off)", committed, got.Seconds, truth)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("checked nothing")
	}
}

func TestLagUnknownWithTooFewPoints(t *testing.T) {
	h := NewHistory(time.Minute)
	if e := h.Lag(5, t0); e.Known || e.Reason == "" {
		t.Errorf("no samples: got %+v, want unknown with a reason", e)
	}
	h.Add(t0, 100)
	if e := h.Lag(50, t0.Add(time.Second)); e.Known || e.Reason == "" {
		t.Errorf("one sample, behind: got %+v, want unknown with a reason", e)
	}
	if e := h.Lag(100, t0.Add(time.Second)); !e.Known || e.Seconds != 0 {
		t.Errorf("one sample, caught up: got %+v, want known 0s", e)
	}
}

func TestLagUnknownBeyondWindowButWithLowerBound(t *testing.T) {
	h := NewHistory(time.Minute)
	for s := 0; s <= 120; s += 10 {
		h.Add(at(float64(s)), int64(1000+s*10))
	}
	// Window is one minute: samples before 60s are gone.
	first := h.Samples()[0]
	if at(120).Sub(first.Time) > time.Minute+10*time.Second {
		t.Fatalf("oldest sample %v kept beyond the window", first.Time)
	}
	e := h.Lag(1000, at(120))
	if e.Known {
		t.Fatalf("committed offset older than the window: got known %.1fs, want unknown", e.Seconds)
	}
	if e.AtLeast < 50 || e.AtLeast > 70 {
		t.Errorf("AtLeast = %.1f, want about the window (60s)", e.AtLeast)
	}
	if e.String() == "" || e.Reason == "" {
		t.Errorf("unknown estimate needs words: %+v", e)
	}
}

func TestQuietPartitionKeepsTwoSamplesAndCaughtUpIsZero(t *testing.T) {
	h := NewHistory(time.Hour)
	for s := 0; s < 100; s++ {
		h.Add(at(float64(s)), 42)
	}
	if n := len(h.Samples()); n != 2 {
		t.Errorf("quiet partition keeps %d samples, want 2 (first and last)", n)
	}
	if e := h.Lag(42, at(100)); !e.Known || e.Seconds != 0 {
		t.Errorf("caught up on quiet partition: %+v, want 0s", e)
	}
	// Behind on a quiet partition: the record was produced before the
	// history began, so only a lower bound is known.
	if e := h.Lag(41, at(100)); e.Known || e.AtLeast < 99 {
		t.Errorf("behind on quiet partition: %+v, want unknown with AtLeast ~100s", e)
	}
}

func TestRecreatedTopicRestartsHistory(t *testing.T) {
	h := NewHistory(time.Hour)
	h.Add(at(0), 500)
	h.Add(at(1), 600)
	h.Add(at(2), 3)
	if s := h.Samples(); len(s) != 1 || s[0].End != 3 {
		t.Errorf("after the end offset went down: %+v, want only the new sample", s)
	}
}

func TestLagNeverNegative(t *testing.T) {
	h := NewHistory(time.Hour)
	h.Add(at(0), 0)
	h.Add(at(10), 100)
	// now before the interpolated production time (clock skew between
	// samples and the caller): clamp to 0.
	if e := h.Lag(99, at(5)); !e.Known || e.Seconds < 0 {
		t.Errorf("got %+v, want a known, non-negative estimate", e)
	}
}
