// Package timelag estimates how far behind a consumer is in seconds, from a
// history of a partition's end offset over time.
//
// # Method
//
// Every sample records (t, end): at time t the partition's log end offset
// (the offset the next produced record will get) was end. A record at
// offset o was therefore produced in the interval between the last sample
// with end <= o and the first sample with end > o. A consumer whose
// committed offset is c is waiting for the record at offset c; we
// interpolate linearly between those two samples to estimate when it was
// produced (the moment the end offset reached c+1), and the lag in seconds
// is now minus that time. This is the
// approach of kafka-lag-exporter (interpolation over a table of recent
// offset/time points), with one difference: we never extrapolate. When c
// is below the oldest sample's end offset the record was produced before
// the history starts, so the estimate is Unknown and carries only a lower
// bound (now minus the oldest sample's time). With fewer than two samples
// and c behind the end, there is nothing to interpolate: Unknown as well.
// A consumer at (or past) the end offset is 0 seconds behind.
//
// Accuracy depends on the sampling interval: the estimate is exact when
// records arrive at a steady rate between two samples and otherwise off
// by at most one sampling interval.
package timelag

import (
	"fmt"
	"time"
)

// Sample is a partition's log end offset at a point in time.
type Sample struct {
	Time time.Time
	End  int64
}

// Estimate is a lag in seconds, or why it is not known.
type Estimate struct {
	// Known is true when Seconds is an interpolated estimate.
	Known   bool    `json:"known"`
	Seconds float64 `json:"seconds"`
	// AtLeast is, when Known is false and the committed offset is older
	// than the history, a lower bound on the lag in seconds (0 otherwise).
	AtLeast float64 `json:"atLeast,omitempty"`
	// Reason says in words why the estimate is unknown ("" when known).
	Reason string `json:"reason,omitempty"`
}

// String renders the estimate for people: "12.3s", "unknown" or
// "unknown (>300s)".
func (e Estimate) String() string {
	switch {
	case e.Known:
		return fmt.Sprintf("%.1fs", e.Seconds)
	case e.AtLeast > 0:
		return fmt.Sprintf("unknown (>%.0fs)", e.AtLeast)
	}
	return "unknown"
}

// History is a bounded, time-ordered list of end-offset samples of one
// partition. The zero value is not usable: use [NewHistory]. A History is
// not safe for concurrent use; its owner (the monitor's sampling
// goroutine) is the only one to touch it.
type History struct {
	window  time.Duration
	samples []Sample
}

// NewHistory returns a history that keeps samples for window (older ones
// are dropped, keeping at least two so that a quiet partition still has a
// known recent past).
func NewHistory(window time.Duration) *History {
	return &History{window: window}
}

// Add records the end offset at time t. Samples must come in time order;
// an older one is ignored. A sample whose end offset is lower than the
// previous one (the topic was deleted and recreated) restarts the history.
//
// Runs of equal end offsets are kept as their first and last sample only:
// interpolation needs nothing in between, and a quiet partition then costs
// two samples however long the window.
func (h *History) Add(t time.Time, end int64) {
	n := len(h.samples)
	if n > 0 {
		last := h.samples[n-1]
		switch {
		case t.Before(last.Time):
			return
		case end < last.End:
			h.samples = h.samples[:0]
		case n >= 2 && last.End == end && h.samples[n-2].End == end:
			h.samples[n-1].Time = t
			h.trim(t)
			return
		}
	}
	h.samples = append(h.samples, Sample{Time: t, End: end})
	h.trim(t)
}

// trim drops samples older than the window, keeping at least two.
func (h *History) trim(now time.Time) {
	cut := 0
	for cut < len(h.samples)-2 && now.Sub(h.samples[cut+1].Time) > h.window {
		cut++
	}
	if cut > 0 {
		h.samples = append(h.samples[:0], h.samples[cut:]...)
	}
}

// Samples returns a copy of the samples, oldest first.
func (h *History) Samples() []Sample { return append([]Sample(nil), h.samples...) }

// Latest returns the newest sample and whether there is one.
func (h *History) Latest() (Sample, bool) {
	if len(h.samples) == 0 {
		return Sample{}, false
	}
	return h.samples[len(h.samples)-1], true
}

// Lag estimates, at time now, how long ago the record at offset committed
// (the next one the group will read) was produced. See the package
// documentation for the method.
func (h *History) Lag(committed int64, now time.Time) Estimate {
	return Interpolate(h.samples, committed, now)
}

// Interpolate is [History.Lag] over a time-ordered slice of samples.
func Interpolate(samples []Sample, committed int64, now time.Time) Estimate {
	n := len(samples)
	if n == 0 {
		return Estimate{Reason: "no end-offset samples yet"}
	}
	if committed >= samples[n-1].End {
		return Estimate{Known: true}
	}
	if n < 2 {
		return Estimate{Reason: "too few end-offset samples to interpolate (need 2)"}
	}
	if committed < samples[0].End {
		return Estimate{
			AtLeast: now.Sub(samples[0].Time).Seconds(),
			Reason:  fmt.Sprintf("committed offset %d is older than the sample window (oldest end offset %d)", committed, samples[0].End),
		}
	}
	// The first sample whose end is past committed; the one before it has
	// end <= committed (samples[0] does, so j >= 1).
	j := 1
	for samples[j].End <= committed {
		j++
	}
	a, b := samples[j-1], samples[j]
	// The record at committed exists once the end offset reaches
	// committed+1.
	frac := float64(committed+1-a.End) / float64(b.End-a.End)
	produced := a.Time.Add(time.Duration(frac * float64(b.Time.Sub(a.Time))))
	secs := now.Sub(produced).Seconds()
	if secs < 0 {
		secs = 0
	}
	return Estimate{Known: true, Seconds: secs}
}
