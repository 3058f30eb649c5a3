package deadletter

import (
	"context"
	"time"
)

// ReplayClock makes a replay's rate limit use a fake clock.
func ReplayClock(now func() time.Time, sleep func(context.Context, time.Duration) error) ReplayOption {
	return func(c *replayConfig) { c.now, c.sleep = now, sleep }
}
