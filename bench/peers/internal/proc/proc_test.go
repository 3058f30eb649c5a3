package proc

import (
	"os"
	"testing"
	"time"
)

func TestCPUCountsThisProcesssWork(t *testing.T) {
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU did not grow over 100ms of busy loop: %s then %s (x=%d)", before, after, x)
	}
}

func TestPeakRSSIsNonZero(t *testing.T) {
	rss, err := PeakRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("PeakRSS = %d, %v", rss, err)
	}
}

func TestAGoneProcessIsAnError(t *testing.T) {
	if _, err := CPU(1 << 30); err == nil {
		t.Fatal("CPU of a pid that cannot exist: no error")
	}
	if _, err := PeakRSS(1 << 30); err == nil {
		t.Fatal("PeakRSS of a pid that cannot exist: no error")
	}
}
