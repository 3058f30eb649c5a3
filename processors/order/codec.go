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

// Encode encodes e with its schema. Errors name the schema (they come from
// the Serde, whose messages start with "encode <schema>").
func Encode(ctx context.Context, s *schemas.Serde, e Event) ([]byte, error) {
	return s.Encode(ctx, e.Schema(), e.Native())
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
		return zero, classify(err) // Serde's errors start with "decode <schema>:" already
	}
	e, err := from(m)
	if err != nil {
		return zero, pipeline.MarkPoison(fmt.Errorf("decode %s: %w", name, err))
	}
	return e, nil
}

// classify gives a decode error its pipeline class: bytes that are not a
// readable record of the schema are poison, anything else (a schema
// registry that cannot be reached) is retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if isUnreadable(err) {
		return pipeline.MarkPoison(err)
	}
	return pipeline.MarkRetryable(err)
}

func isUnreadable(err error) bool {
	for _, target := range []error{schemas.ErrNotAvro, schemas.ErrUnknownSchema, schemas.ErrWrongSchema, schemas.ErrMalformed} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
