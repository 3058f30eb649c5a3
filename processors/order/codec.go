package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/schemas"
)

// Event is any of the order events: Placed, Validated, Scored, Decided or
// Status.
type Event interface {
	// Schema is the full name of the Avro schema the event is encoded with.
	Schema() string
	// Key is the record key, the order ID.
	Key() []byte
	// Native is the event as a goavro native map.
	Native() map[string]any
}

// Encode encodes e with its schema.
func Encode(ctx context.Context, s *schemas.Serde, e Event) ([]byte, error) {
	b, err := s.Encode(ctx, e.Schema(), e.Native())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", e.Schema(), err)
	}
	return b, nil
}

// Output encodes e into a record for topic, keyed by the order ID.
func Output(ctx context.Context, s *schemas.Serde, topic string, e Event) (pipeline.Output, error) {
	b, err := Encode(ctx, s, e)
	if err != nil {
		return pipeline.Output{}, fmt.Errorf("order %q to %s: %w", e.Key(), topic, err)
	}
	return pipeline.Output{Topic: topic, Key: e.Key(), Value: b}, nil
}

// DecodePlaced decodes an OrderPlaced of any version; v1 orders read with
// the v2 default channel, "web".
func DecodePlaced(ctx context.Context, s *schemas.Serde, b []byte) (Placed, error) {
	return decode(ctx, s, b, schemas.OrderPlaced, PlacedFromNative)
}

// DecodeValidated decodes an OrderValidated.
func DecodeValidated(ctx context.Context, s *schemas.Serde, b []byte) (Validated, error) {
	return decode(ctx, s, b, schemas.OrderValidated, ValidatedFromNative)
}

// DecodeScored decodes an OrderScored.
func DecodeScored(ctx context.Context, s *schemas.Serde, b []byte) (Scored, error) {
	return decode(ctx, s, b, schemas.OrderScored, ScoredFromNative)
}

// DecodeDecided decodes an OrderDecided.
func DecodeDecided(ctx context.Context, s *schemas.Serde, b []byte) (Decided, error) {
	return decode(ctx, s, b, schemas.OrderDecided, DecidedFromNative)
}

// DecodeStatus decodes an OrderStatus.
func DecodeStatus(ctx context.Context, s *schemas.Serde, b []byte) (Status, error) {
	return decode(ctx, s, b, schemas.OrderStatus, StatusFromNative)
}

// decode decodes b as the named schema. Its errors carry the pipeline's
// error class: bytes that are not a readable record of that schema are
// poison (dead-letter at once), while a schema registry that cannot be
// reached is retryable (the record is fine; the registry will be back).
func decode[E any](ctx context.Context, s *schemas.Serde, b []byte, name string, from func(map[string]any) (E, error)) (E, error) {
	var zero E
	m, err := s.Decode(ctx, b, name)
	if err != nil {
		// Serde's errors start with "decode <schema>:" already.
		if isUnreadable(err) {
			return zero, pipeline.MarkPoison(err)
		}
		return zero, pipeline.MarkRetryable(err)
	}
	e, err := from(m)
	if err != nil {
		return zero, pipeline.MarkPoison(fmt.Errorf("decode %s: %w", name, err))
	}
	return e, nil
}

func isUnreadable(err error) bool {
	for _, target := range []error{schemas.ErrNotAvro, schemas.ErrUnknownSchema, schemas.ErrWrongSchema, schemas.ErrMalformed} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Routed is an event and the topic it goes to.
type Routed struct {
	Topic string
	Event Event
}

// Outputs encodes each event into a record for its topic, keyed by the order
// ID, in the order given.
func Outputs(ctx context.Context, s *schemas.Serde, events ...Routed) ([]pipeline.Output, error) {
	outs := make([]pipeline.Output, len(events))
	for i, r := range events {
		out, err := Output(ctx, s, r.Topic, r.Event)
		if err != nil {
			return nil, err
		}
		outs[i] = out
	}
	return outs, nil
}
