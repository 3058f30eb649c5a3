package pipeline

import (
	"context"
	"fmt"
)

// Codec turns values of T into record values and back. Typed uses one to
// decode a handler's input and one to encode its outputs; package schemas
// implements it for Avro records (schemas.Codec), and a test can implement
// it with encoding/json in a few lines.
//
// A Codec must be safe for concurrent use: handlers run on many workers.
// ctx bounds whatever a codec calls out to, such as a schema registry.
type Codec[T any] interface {
	// Decode reads one record value. Its error should say what was wrong
	// with the bytes: it ends up in the dead-letter record.
	Decode(ctx context.Context, b []byte) (T, error)
	// Encode writes one record value.
	Encode(ctx context.Context, v T) ([]byte, error)
}

// Message is an output before encoding: Typed encodes Value with its output
// codec and produces an Output with the same Topic, Key and Headers.
//
// A handler that writes records of several types (an order stage writes a
// status record and the record for the next stage) makes T an interface,
// with an output codec that encodes each value by its own schema, as
// order.Codecs.Event does.
type Message[T any] struct {
	Topic   string
	Key     []byte
	Value   T
	Headers []Header
}

// Typed adapts h, a handler of decoded values, to a Handler: it decodes the
// record's value with in, calls h with it, and encodes the Value of each
// returned Message with out, keeping their order (the runtime produces
// outputs in that order). h sees the value only; a handler that needs the
// record's key, headers or position is a plain Handler.
//
// Errors keep the classes the runtime routes by (see ClassOf):
//   - a decode error is poison (MarkPoison), so the record goes to the
//     dead-letter topic at once, unless the codec gave it another class
//     than Permanent: a codec returns MarkRetryable(err) when it could not
//     reach a schema registry, say, which says nothing about the record;
//   - h's error is returned as it is;
//   - an encode error names the output and keeps the codec's class
//     (unmarked: permanent, as for any handler error).
func Typed[In, Out any](in Codec[In], out Codec[Out], h func(ctx context.Context, v In) ([]Message[Out], error)) Handler {
	return func(ctx context.Context, rec *Record) ([]Output, error) {
		v, err := in.Decode(ctx, rec.Value)
		if err != nil {
			if ClassOf(err) == Permanent {
				err = MarkPoison(err)
			}
			return nil, err
		}
		msgs, err := h(ctx, v)
		if err != nil || len(msgs) == 0 {
			return nil, err
		}
		outs := rec.outputSlots(len(msgs))
		for i, m := range msgs {
			b, err := out.Encode(ctx, m.Value)
			if err != nil {
				return nil, fmt.Errorf("output %d to %s, key %q: %w", i, m.Topic, m.Key, err)
			}
			outs[i] = Output{Topic: m.Topic, Key: m.Key, Value: b, Headers: m.Headers}
		}
		return outs, nil
	}
}
