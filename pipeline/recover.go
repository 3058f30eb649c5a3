package pipeline

import (
	"context"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// recoverPanics turns a panic in next (or in middleware inside it) into a
// *PanicError, counted in panics, so one bad record cannot crash the
// processor. It is the outermost middleware.
func recoverPanics(panics prometheus.Counter) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, rec *Record) (outs []Output, err error) {
			defer func() {
				if v := recover(); v != nil {
					panics.Inc()
					outs, err = nil, &PanicError{Value: v, Stack: debug.Stack()}
				}
			}()
			return next(ctx, rec)
		}
	}
}
