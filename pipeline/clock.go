package pipeline

import (
	"sync/atomic"
	"time"
)

// The per-record clock reads. time.Now reads two clocks (wall and
// monotonic); on the virtual machines Sluice was measured on each read cost
// 45-60 ns, and two time.Now per record were a tenth of a passthrough
// processor's CPU (BenchmarkRuntimeOverheadKafka's profile). Durations only
// need the monotonic clock, and latencies against a record's timestamp need
// a wall clock to within a fraction of a millisecond, so both are read off
// one monotonic read here.

// clockEpoch anchors monoNow and wallAt.
var clockEpoch = time.Now()

// monoNow is the monotonic clock for measuring durations: the time since
// clockEpoch, at one clock read. (A time.Time built from it cost another
// 20 ns per record in time.Time.Add.)
func monoNow() time.Duration { return time.Since(clockEpoch) }

// wallClock is the offset from the monotonic clock to the wall clock, read
// once a second (wallRefresh) so that clock adjustments are followed.
var wallClock struct {
	offset    atomic.Int64 // wall Unix ns minus monotonic ns since clockEpoch
	refreshed atomic.Int64 // monotonic ns since clockEpoch of the last read
}

const wallRefresh = time.Second

func init() { refreshWallClock() }

func refreshWallClock() {
	now := time.Now()
	mono := int64(now.Sub(clockEpoch)) // both monotonic: the same instant
	wallClock.offset.Store(now.UnixNano() - mono)
	wallClock.refreshed.Store(mono)
}

// wallAt returns the wall clock in Unix nanoseconds at mono, a monoNow
// reading, within what the system clock was adjusted by in the last
// second: the caller that has a reading saves a clock read.
func wallAt(mono time.Duration) int64 {
	if int64(mono)-wallClock.refreshed.Load() > int64(wallRefresh) {
		refreshWallClock()
	}
	return int64(mono) + wallClock.offset.Load()
}
