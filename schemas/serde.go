package schemas

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// Serde encodes records with the latest version of their schema and decodes
// any known version, resolving it to the latest. It is safe for concurrent
// use by many goroutines: the Set is immutable and the registry cache has
// its own lock.
type Serde struct {
	set      *Set
	format   Format
	registry *registry // nil without WithRegistry
}

// SerdeOption configures NewSerde.
type SerdeOption func(*serdeConfig)

type serdeConfig struct {
	format    Format
	formatSet bool
	registry  *sr.Client
}

// WithFormat sets the wire format Encode writes. The default is
// SingleObject, unless WithRegistry is given, which makes it Confluent.
// Decode reads either format regardless.
func WithFormat(f Format) SerdeOption {
	return func(c *serdeConfig) { c.format, c.formatSet = f, true }
}

// WithRegistry makes the Serde register and look up Confluent schema IDs
// with c, under the subject named by the record's full name
// (RecordNameStrategy, e.g. "sluice.orders.OrderPlaced"). IDs are cached for
// the Serde's lifetime. It implies WithFormat(Confluent) unless WithFormat
// says otherwise; without a registry, Decode cannot read Confluent framing.
func WithRegistry(c *sr.Client) SerdeOption {
	return func(cfg *serdeConfig) { cfg.registry = c }
}

// NewSerde returns a Serde over set. It fails if Confluent format is asked
// for without a registry, since nothing could then assign schema IDs.
func NewSerde(set *Set, opts ...SerdeOption) (*Serde, error) {
	if set == nil {
		return nil, errors.New("new serde: nil schema set")
	}
	var cfg serdeConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.registry != nil && !cfg.formatSet {
		cfg.format = Confluent
	}
	s := &Serde{set: set, format: cfg.format}
	switch cfg.format {
	case SingleObject:
	case Confluent:
		if cfg.registry == nil {
			return nil, errors.New("new serde: confluent format needs a schema registry: add WithRegistry")
		}
	default:
		return nil, fmt.Errorf("new serde: unknown format %v", cfg.format)
	}
	if cfg.registry != nil {
		s.registry = newRegistry(cfg.registry, set)
	}
	return s, nil
}

// Format returns the wire format Encode writes.
func (s *Serde) Format() Format { return s.format }

// Encode encodes native with the latest version of the named record (full or
// short name) in the Serde's format. See the package documentation for the
// Go types each field takes; fields with a default may be omitted. In
// Confluent format the first Encode of a schema registers it, so ctx bounds
// that call.
func (s *Serde) Encode(ctx context.Context, name string, native map[string]any) ([]byte, error) {
	sc, err := s.set.Latest(name)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var buf []byte
	switch s.format {
	case Confluent:
		id, err := s.registry.idFor(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", sc, err)
		}
		buf = appendConfluentHeader(make([]byte, 0, 64), id)
	default:
		buf = appendSingleObjectHeader(make([]byte, 0, 64), sc.Fingerprint)
	}
	buf, err = sc.Codec.BinaryFromNative(buf, native)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", sc, err)
	}
	return buf, nil
}

// Decode decodes b, in either wire format, as the named record (full or
// short name) and returns it in the shape of that record's latest version:
// fields the writer lacked get the reader's default and fields the reader
// lacks are dropped. Errors about the input wrap ErrNotAvro,
// ErrUnknownSchema, ErrWrongSchema or ErrMalformed; an error wrapping none
// of them is a registry failure that may succeed on retry. It never panics.
func (s *Serde) Decode(ctx context.Context, b []byte, name string) (map[string]any, error) {
	reader, err := s.set.Latest(name)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	writer, body, err := s.writerSchema(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", reader.Name, err)
	}
	if writer.Name != reader.Name {
		return nil, fmt.Errorf("decode %s: %w: the message was written as %s", reader.Name, ErrWrongSchema, writer)
	}
	v, err := decodeBody(writer, body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", reader.Name, err)
	}
	if writer.Fingerprint == reader.Fingerprint {
		return v, nil
	}
	v, err = resolve(writer, reader, v)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", reader.Name, err)
	}
	return v, nil
}

// DecodeAny decodes b with whatever schema its header names, without
// resolving to a later version, and returns that writer schema too.
func (s *Serde) DecodeAny(ctx context.Context, b []byte) (*Schema, map[string]any, error) {
	writer, body, err := s.writerSchema(ctx, b)
	if err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	v, err := decodeBody(writer, body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", writer.Name, err)
	}
	return writer, v, nil
}

// writerSchema reads the header and finds the schema it names.
func (s *Serde) writerSchema(ctx context.Context, b []byte) (*Schema, []byte, error) {
	h, body, err := parseHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if h.format == SingleObject {
		sc, ok := s.set.ByFingerprint(h.fingerprint)
		if !ok {
			return nil, nil, fmt.Errorf("%w: single-object fingerprint 0x%016x matches none of the embedded schemas (is the producer on a newer schema version?)", ErrUnknownSchema, h.fingerprint)
		}
		return sc, body, nil
	}
	if s.registry == nil {
		return nil, nil, fmt.Errorf("%w: Confluent schema ID %d, but this Serde has no registry (WithRegistry)", ErrUnknownSchema, h.id)
	}
	sc, err := s.registry.schemaFor(ctx, h.id)
	if err != nil {
		return nil, nil, err
	}
	return sc, body, nil
}

// decodeBody decodes an Avro binary body that must be exactly one value of
// writer. Errors wrap ErrMalformed; they name writer's version but not its
// name, which the caller's "decode <name>:" already gives.
func decodeBody(writer *Schema, body []byte) (v map[string]any, err error) {
	rest, err := scan(writer.root, body)
	if err != nil {
		return nil, fmt.Errorf("%w (%s, %d bytes): %v", ErrMalformed, version(writer), len(body), err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w (%s): %d trailing bytes after the %d-byte record", ErrMalformed, version(writer), len(rest), len(body)-len(rest))
	}
	// scan has checked the structure, so goavro should neither fail nor
	// panic; guard anyway, since one poison message must not kill a consumer.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w (%s): decoder panicked: %v", ErrMalformed, version(writer), r)
		}
	}()
	native, _, err := writer.Codec.NativeFromBinary(body)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrMalformed, version(writer), err)
	}
	m, ok := native.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w (%s): decoded to %T, not a record", ErrMalformed, version(writer), native)
	}
	return m, nil
}

// version says which version of its record s is: "v2", or the fingerprint
// of a registry schema that is not embedded.
func version(s *Schema) string {
	if s.Version == 0 {
		return fmt.Sprintf("fingerprint 0x%016x", s.Fingerprint)
	}
	return fmt.Sprintf("v%d", s.Version)
}

// NewDefaultSerde returns a Serde over the embedded schemas in single-object
// encoding: what the binaries use when no registry is configured, and what
// tests and the demo need.
func NewDefaultSerde() (*Serde, error) {
	set, err := Load()
	if err != nil {
		return nil, err
	}
	return NewSerde(set)
}
