package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestClassOf(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		err  error
		want Class
	}{
		{base, Permanent},
		{MarkRetryable(base), Retryable},
		{fmt.Errorf("wrapped: %w", MarkRetryable(base)), Retryable},
		{MarkPoison(base), Poison},
		{MarkPermanent(MarkRetryable(base)), Permanent},
		{&PanicError{Value: "x"}, Panic},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), Retryable},
	}
	for _, c := range cases {
		if got := ClassOf(c.err); got != c.want {
			t.Errorf("ClassOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if MarkRetryable(nil) != nil {
		t.Error("MarkRetryable(nil) is not nil")
	}
}
