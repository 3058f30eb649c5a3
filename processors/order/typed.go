package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/schemas"
)

// Message is an order event on its way out of a stage, for pipeline.Typed,
// which encodes it with Codecs.Event. Build it with To.
type Message = pipeline.Message[Event]

// To addresses e to topic, keyed by its order ID: every stage keys its
// records here, so no stage can pick a different key (see the package doc).
func To(topic string, e Event) Message {
	return Message{Topic: topic, Key: e.Key(), Value: e}
}

// Codecs are the codecs of the order events over one Serde, for
// pipeline.Typed. Decode errors carry the pipeline's class: bytes that are
// not a readable record of the event's schema are poison (dead-lettered at
// once), a schema registry that cannot be reached is retryable (the record
// is fine; the registry will be back). Encode errors are unmarked, so
// permanent: an event the schema refuses is a bug in the stage.
type Codecs struct {
	Placed    pipeline.Codec[Placed]
	Validated pipeline.Codec[Validated]
	Scored    pipeline.Codec[Scored]
	Decided   pipeline.Codec[Decided]
	Status    pipeline.Codec[Status]
	// Event encodes any event with its own schema, and decodes whichever
	// order event the bytes hold: the output codec of every stage.
	Event pipeline.Codec[Event]
}

// NewCodecs returns the codecs of every order event over s. It fails only if
// s's schema set lacks one of the order records.
func NewCodecs(s *schemas.Serde) (Codecs, error) {
	var c Codecs
	var err error
	if c.Placed, err = newCodec(s, PlacedFromNative); err != nil {
		return Codecs{}, err
	}
	if c.Validated, err = newCodec(s, ValidatedFromNative); err != nil {
		return Codecs{}, err
	}
	if c.Scored, err = newCodec(s, ScoredFromNative); err != nil {
		return Codecs{}, err
	}
	if c.Decided, err = newCodec(s, DecidedFromNative); err != nil {
		return Codecs{}, err
	}
	if c.Status, err = newCodec(s, StatusFromNative); err != nil {
		return Codecs{}, err
	}
	c.Event = eventCodec{serde: s, byName: map[string]func(context.Context, []byte) (Event, error){
		schemas.OrderPlaced:    asEvent(c.Placed),
		schemas.OrderValidated: asEvent(c.Validated),
		schemas.OrderScored:    asEvent(c.Scored),
		schemas.OrderDecided:   asEvent(c.Decided),
		schemas.OrderStatus:    asEvent(c.Status),
	}}
	return c, nil
}

func newCodec[E Event](s *schemas.Serde, from func(map[string]any) (E, error)) (pipeline.Codec[E], error) {
	var zero E
	c, err := schemas.NewCodec(s, zero.Schema(), func(e E) map[string]any { return e.Native() }, from)
	if err != nil {
		return nil, err
	}
	return classed[E]{c}, nil
}

// classed gives a schemas.Codec's decode errors their pipeline class.
type classed[E any] struct{ c *schemas.Codec[E] }

func (c classed[E]) Decode(ctx context.Context, b []byte) (E, error) {
	e, err := c.c.Decode(ctx, b)
	return e, classify(err)
}

func (c classed[E]) Encode(ctx context.Context, e E) ([]byte, error) { return c.c.Encode(ctx, e) }

func asEvent[E Event](c pipeline.Codec[E]) func(context.Context, []byte) (Event, error) {
	return func(ctx context.Context, b []byte) (Event, error) {
		e, err := c.Decode(ctx, b)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

// eventCodec encodes any Event by its schema; it decodes by the schema the
// bytes name.
type eventCodec struct {
	serde  *schemas.Serde
	byName map[string]func(context.Context, []byte) (Event, error)
}

func (c eventCodec) Encode(ctx context.Context, e Event) ([]byte, error) {
	if e == nil {
		return nil, errors.New("encode order event: nil event")
	}
	return Encode(ctx, c.serde, e)
}

func (c eventCodec) Decode(ctx context.Context, b []byte) (Event, error) {
	writer, _, err := c.serde.DecodeAny(ctx, b)
	if err != nil {
		return nil, classify(err)
	}
	decode, ok := c.byName[writer.Name]
	if !ok {
		return nil, pipeline.MarkPoison(fmt.Errorf("decode order event: %w: the message was written as %s", schemas.ErrWrongSchema, writer))
	}
	return decode(ctx, b)
}
