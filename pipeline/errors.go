package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// ErrorHandler decides what happens to a record whose handler failed. It
// returns the records to produce instead (for example to a retry or
// dead-letter topic), after which the record counts as done once they are
// acknowledged; or an error, which stops the processor.
type ErrorHandler func(ctx context.Context, rec *Record, err error) ([]Output, error)

// RecordError is the error a processor stops with when a record could not
// be processed. Nothing at or after Offset in that partition was committed.
type RecordError struct {
	Processor string
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("processor %s: record %s/%d@%d: %v", e.Processor, e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// PanicError is the error a recovered handler panic becomes.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// ErrProduce wraps failures to produce a handler's outputs. They are not the
// record's fault, so they are never routed to retry or dead-letter topics:
// the processor stops and leaves the record uncommitted.
var ErrProduce = errors.New("produce failed")

func stopOnError(_ context.Context, _ *Record, err error) ([]Output, error) { return nil, err }
