package pipeline

import (
	"context"
	"errors"
)

// panicsAsRetryable marks recovered panics Retryable instead of their
// default class, Panic (routed like Permanent). See PanicsRetryable.
func panicsAsRetryable(next Handler) Handler {
	return func(ctx context.Context, rec *Record) ([]Output, error) {
		outs, err := next(ctx, rec)
		var pe *PanicError
		if err != nil && ClassOf(err) == Panic && errors.As(err, &pe) {
			err = MarkRetryable(err)
		}
		return outs, err
	}
}

// wrap wraps h in its middleware: mw[0] is the outermost.
func wrap(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
