package schemas

import "errors"

// Sentinel errors. Every error returned by Decode and DecodeAny that is about
// the input bytes wraps exactly one of these, so callers can route a record
// (retry, dead-letter, drop) with errors.Is; the wrapping message says what was
// seen, for the human reading the dead-letter topic.
var (
	// ErrNotAvro means the bytes are in neither wire format: too short for
	// a header, or the magic bytes are wrong. Typically a producer that
	// writes JSON or plain Avro without a header.
	ErrNotAvro = errors.New("not Avro in single-object or Confluent framing")

	// ErrUnknownSchema means the header names a writer schema this process
	// cannot find: a single-object fingerprint that is not embedded, a
	// Confluent schema ID the registry does not know (or no registry is
	// configured), or a record name that is not in the Set.
	ErrUnknownSchema = errors.New("unknown schema")

	// ErrWrongSchema means the bytes were written with a different record
	// than the caller asked for, or with a version of it that cannot be
	// resolved to the latest one (a field the reader needs has no default).
	ErrWrongSchema = errors.New("wrong schema")

	// ErrMalformed means the framing is fine but the Avro body does not
	// decode with the writer schema: truncated, garbage, or trailing bytes.
	ErrMalformed = errors.New("malformed Avro body")
)
