package pipeline

import (
	"context"
	"slices"
	"time"
)

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one input record handed to a Handler. The Handler must not keep
// references to the Record or its slices after it returns.
//
// A record coming back from a retry tier is presented as it was first read:
// Topic, Partition, Offset and Timestamp are those of the input topic, and
// Attempt counts the failed attempts before this one.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header // without the sluice.* headers of the retry path
	Timestamp time.Time
	Attempt   int

	// outs is the storage behind Outputs' results, the worker's: a
	// processor's Record is reused for every record its worker runs.
	outs []Output
}

// Outputs returns its arguments as a slice for the handler to return, in
// storage reused from record to record: a light handler (passthrough,
// filter, route) then allocates nothing per record for its outputs, where a
// slice literal costs an allocation and its garbage collection (about 5%
// of a passthrough processor's CPU against Kafka; see PERFORMANCE.md).
//
//	return r.Outputs(pipeline.Output{Topic: "out", Key: r.Key, Value: r.Value}), nil
//
// The slice is valid until the handler returns: the processor copies the
// outputs before the worker runs its next record. Return it as it is, or
// append to it; each call replaces what an earlier call on r returned.
func (r *Record) Outputs(outs ...Output) []Output {
	r.outs = append(r.outs[:0], outs...)
	return r.outs
}

// outputSlots returns n Outputs of r's storage (see Outputs) for the caller
// to fill.
func (r *Record) outputSlots(n int) []Output {
	r.outs = slices.Grow(r.outs[:0], n)[:n]
	return r.outs
}

// Output is a record a Handler asks the processor to produce. The input
// record counts as done only once every Output is acknowledged by the broker.
// Outputs carry the input record's timestamp, as in Kafka Streams, so event
// time flows through a chain of processors and end-to-end latency is
// measured from when the event happened.
type Output struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
}

// Handler processes one record and returns the records to produce. It may
// return zero, one or many outputs, to any topics. A non-nil error means the
// record failed; see Processor for what happens next. A light handler
// returns Record.Outputs, which allocates nothing per record.
//
// Handlers run concurrently on several workers; the ordering mode decides
// which records may run at the same time.
type Handler func(ctx context.Context, rec *Record) ([]Output, error)

// Middleware wraps a Handler with behaviour of its own (tracing, metrics,
// authorization checks, ...): it returns a Handler that does its part and
// calls next. See the Use option.
type Middleware func(next Handler) Handler
