package deadletter

import (
	"context"
	"time"
)

// pacer spaces sends at least interval apart, so a replay never sends more
// than the rate it was given in any second, not even in a burst after a
// pause. It is owned by the replay loop.
type pacer struct {
	interval time.Duration
	next     time.Time
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 {
		return nil
	}
	return &pacer{interval: time.Duration(float64(time.Second) / perSecond), now: time.Now, sleep: sleepCtx}
}

// wait blocks until the next send is due; a nil pacer never blocks.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	now := p.now()
	due := p.next
	if due.Before(now) {
		due = now
	}
	if d := due.Sub(now); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
	p.next = due.Add(p.interval)
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
