package pipeline

import (
	"context"
	"fmt"
	"time"
)

// timeout gives each call of next a context with deadline d. A call that
// fails once its deadline has passed (while the processor's own context is
// still live) has a Retryable failure: the record was not at fault.
func timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, rec *Record) ([]Output, error) {
			hctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			outs, err := next(hctx, rec)
			if err != nil && hctx.Err() != nil && ctx.Err() == nil {
				err = MarkRetryable(fmt.Errorf("handler timed out after %s: %w", d, err))
			}
			return outs, err
		}
	}
}
