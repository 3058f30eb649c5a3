package schemas

import (
	"context"
	"errors"
	"fmt"
)

// Codec is the typed form of a Serde for one record: it encodes values of T
// with the record's latest version and decodes any version of it into T. It
// has the methods of pipeline.Codec, so pipeline.Typed can run a handler of
// T values over it. It is safe for concurrent use.
type Codec[T any] struct {
	serde      *Serde
	name       string // full name
	toNative   func(T) map[string]any
	fromNative func(map[string]any) (T, error)
}

// NewCodec returns the Codec of the named record (full or short name) for
// T. toNative turns a T into the native map Encode takes; fromNative turns
// the map Decode returns (in the shape of the latest version) back into a T,
// failing if a field is missing or of the wrong Go type. It fails if serde's
// Set has no such record.
func NewCodec[T any](serde *Serde, record string, toNative func(T) map[string]any, fromNative func(map[string]any) (T, error)) (*Codec[T], error) {
	if serde == nil || toNative == nil || fromNative == nil {
		return nil, errors.New("new codec: nil serde or conversion")
	}
	latest, err := serde.set.Latest(record)
	if err != nil {
		return nil, fmt.Errorf("new codec: %w", err)
	}
	return &Codec[T]{serde: serde, name: latest.Name, toNative: toNative, fromNative: fromNative}, nil
}

// Name returns the full name of the codec's record.
func (c *Codec[T]) Name() string { return c.name }

// Decode decodes b as the codec's record. Its errors are Serde.Decode's:
// about the bytes, they wrap ErrNotAvro, ErrUnknownSchema, ErrWrongSchema or
// ErrMalformed; a record that fromNative refuses wraps ErrWrongSchema and
// fromNative's error; an error wrapping none of these is a registry failure
// that may pass on retry.
func (c *Codec[T]) Decode(ctx context.Context, b []byte) (T, error) {
	var zero T
	m, err := c.serde.Decode(ctx, b, c.name)
	if err != nil {
		return zero, err
	}
	v, err := c.fromNative(m)
	if err != nil {
		return zero, fmt.Errorf("decode %s: %w: %w", c.name, ErrWrongSchema, err)
	}
	return v, nil
}

// Encode encodes v with the record's latest version, as Serde.Encode.
func (c *Codec[T]) Encode(ctx context.Context, v T) ([]byte, error) {
	return c.serde.Encode(ctx, c.name, c.toNative(v))
}
