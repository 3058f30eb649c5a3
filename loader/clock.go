package loader

import (
	"context"
	"time"
)

// Clock is the time a load is paced and timed by. Tests substitute a fake
// one to check pacing without waiting for it.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real clock.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits for d or ctx.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pacer spaces records evenly at a rate. Record n is due at start + n/rate,
// so a stall (a full producer buffer, a slow disk) is made up for by
// sending faster afterwards: the average over any long window holds the
// rate, which is what --rate promises.
type pacer struct {
	clock Clock
	rate  float64 // records per second; 0 is unpaced
	start time.Time
	n     int64
}

// minSleep is the shortest wait worth a timer; records due sooner go at
// once and the next real sleep makes up for them.
const minSleep = time.Millisecond

func (p *pacer) wait(ctx context.Context) error {
	if p.rate <= 0 {
		return nil
	}
	now := p.clock.Now()
	if p.n == 0 {
		p.start = now
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	p.n++
	if d := due.Sub(now); d >= minSleep {
		return p.clock.Sleep(ctx, d)
	}
	return nil
}
