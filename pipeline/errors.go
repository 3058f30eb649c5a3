package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// Class says what kind of failure a handler error is, which decides where
// the record goes.
type Class int

const (
	// Permanent errors will fail again however often the record is retried
	// (a business rule the record breaks, a bug). The record goes to the
	// dead-letter topic at once. Errors not marked otherwise are permanent.
	Permanent Class = iota
	// Retryable errors may pass later (a timeout, an unavailable
	// dependency). The record goes through the retry tiers, then to the
	// dead-letter topic.
	Retryable
	// Poison records cannot even be read (undecodable bytes, wrong schema).
	// They go to the dead-letter topic at once.
	Poison
	// Panic is a recovered handler panic. By default treated like
	// Permanent; see PanicsRetryable.
	Panic
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Poison:
		return "poison"
	case Panic:
		return "panic"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

type classified struct {
	class Class
	err   error
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }

// MarkRetryable marks err as worth retrying later. Handlers return it for
// failures of something other than the record itself:
//
//	if err := inventory.Reserve(ctx, o); err != nil {
//		return nil, pipeline.MarkRetryable(fmt.Errorf("reserve stock: %w", err))
//	}
func MarkRetryable(err error) error { return mark(Retryable, err) }

// MarkPoison marks err as the record being unreadable, for decoders.
func MarkPoison(err error) error { return mark(Poison, err) }

// MarkPermanent marks err as permanent; unmarked errors already are, so
// this is for overriding a Retryable or Poison mark further down.
func MarkPermanent(err error) error { return mark(Permanent, err) }

func mark(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: c, err: err}
}

// ClassOf returns the class of a handler error: the outermost mark, Panic
// for a *PanicError, Retryable for a deadline exceeded (the handler timed
// out), else Permanent.
func ClassOf(err error) Class {
	var c *classified
	if errors.As(err, &c) {
		return c.class
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return Panic
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Retryable
	}
	return Permanent
}

// ErrorHandler replaces the built-in routing of failed records (see
// StopOnError and OnError). It returns the records to produce instead, after
// which the failed record counts as done once they are acknowledged; or an
// error, which stops the processor.
type ErrorHandler func(ctx context.Context, rec *Record, err error) ([]Output, error)

// RecordError is the error a processor stops with when a record could not
// be processed and the processor was told to stop (StopOnError) or routing
// it failed. Nothing at or after Offset in that partition was committed.
type RecordError struct {
	ProcessorName string // the processor's name (New)
	Topic         string
	Partition     int32
	Offset        int64
	Err           error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("processor %s: record %s/%d@%d: %v", e.ProcessorName, e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// PanicError is the error a recovered handler panic becomes.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// ErrInstanceFenced is what Run returns when another live instance joined
// the group with this one's InstanceID: Kafka fenced this one. Its
// unfinished records stay uncommitted; the other instance has them now.
var ErrInstanceFenced = errors.New("another live instance of the group uses this instance ID")

// ErrProduce wraps failures to produce a handler's outputs, or a retry or
// dead-letter record. They are not the record's fault, so they are never
// routed to retry or dead-letter topics: the processor stops and leaves the
// record uncommitted.
var ErrProduce = errors.New("produce failed")

func stopOnError(_ context.Context, _ *Record, err error) ([]Output, error) { return nil, err }
