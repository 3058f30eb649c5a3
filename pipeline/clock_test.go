package pipeline

import (
	"testing"
	"time"
)

func TestClocksAgreeWithTimeNow(t *testing.T) {
	for range 3 {
		before := time.Now()
		mono := monoNow()
		wall := wallAt(mono)
		after := time.Now()
		if mono < before.Sub(clockEpoch) || mono > after.Sub(clockEpoch) {
			t.Errorf("monoNow %v outside [%v, %v]", mono, before, after)
		}
		// The wall clock may have been adjusted since the last refresh;
		// on a test machine that is far below a millisecond.
		if wall < before.UnixNano()-int64(time.Millisecond) || wall > after.UnixNano()+int64(time.Millisecond) {
			t.Errorf("wallAt %d outside [%d, %d] ± 1ms", wall, before.UnixNano(), after.UnixNano())
		}
		if d := monoNow() - mono; d < 0 {
			t.Errorf("monoNow went back %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWallClockFollowsAdjustments(t *testing.T) {
	// A stale offset (as after the system clock was stepped) is replaced
	// once wallRefresh has passed since the last read.
	refreshWallClock()
	wallClock.offset.Add(int64(time.Hour))
	wallClock.refreshed.Add(-int64(2 * wallRefresh))
	if got, want := wallAt(monoNow()), time.Now().UnixNano(); got > want+int64(time.Millisecond) {
		t.Errorf("wallAt %d still carries the stale offset (now %d)", got, want)
	}
}
