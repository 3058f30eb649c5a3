package schemas

import (
	"encoding/binary"
	"fmt"
)

// Format is a wire format: how the writer schema is identified in front of
// the Avro binary body.
type Format int

const (
	// SingleObject is Avro single-object encoding: 0xC3 0x01, the writer
	// schema's 8-byte little-endian CRC-64-AVRO fingerprint, then the body.
	// It needs no registry; readers must have the writer schema embedded.
	SingleObject Format = iota
	// Confluent is the Confluent Schema Registry framing: 0x00, a 4-byte
	// big-endian schema ID, then the body. It needs a registry (WithRegistry).
	Confluent
)

// ParseFormat parses "single-object" or "confluent", as String prints them.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "single-object":
		return SingleObject, nil
	case "confluent":
		return Confluent, nil
	}
	return 0, fmt.Errorf("unknown wire format %q: want single-object or confluent", s)
}

// String returns "single-object" or "confluent".
func (f Format) String() string {
	switch f {
	case SingleObject:
		return "single-object"
	case Confluent:
		return "confluent"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

const (
	soeMagic0, soeMagic1 = 0xC3, 0x01
	soeHeaderLen         = 10
	confluentMagic       = 0x00
	confluentHeaderLen   = 5
)

// header is the writer-schema reference parsed from the front of a message.
type header struct {
	format      Format
	fingerprint uint64 // SingleObject
	id          int    // Confluent
}

// parseHeader splits a message into its header and Avro body. Errors wrap
// ErrNotAvro.
func parseHeader(b []byte) (header, []byte, error) {
	if len(b) == 0 {
		return header{}, nil, fmt.Errorf("%w: message is empty", ErrNotAvro)
	}
	switch b[0] {
	case soeMagic0:
		if len(b) < 2 || b[1] != soeMagic1 {
			return header{}, nil, fmt.Errorf("%w: first byte 0xC3 (single-object) is followed by %s, want 0x01", ErrNotAvro, describeNext(b))
		}
		if len(b) < soeHeaderLen {
			return header{}, nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte single-object header", ErrNotAvro, len(b), soeHeaderLen)
		}
		return header{format: SingleObject, fingerprint: binary.LittleEndian.Uint64(b[2:10])}, b[soeHeaderLen:], nil
	case confluentMagic:
		if len(b) < confluentHeaderLen {
			return header{}, nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte Confluent header", ErrNotAvro, len(b), confluentHeaderLen)
		}
		return header{format: Confluent, id: int(binary.BigEndian.Uint32(b[1:5]))}, b[confluentHeaderLen:], nil
	}
	return header{}, nil, fmt.Errorf("%w: first byte 0x%02x is neither single-object (0xC3 0x01) nor Confluent (0x00) framing", ErrNotAvro, b[0])
}

func describeNext(b []byte) string {
	if len(b) < 2 {
		return "nothing"
	}
	return fmt.Sprintf("0x%02x", b[1])
}

func appendSingleObjectHeader(buf []byte, fp uint64) []byte {
	buf = append(buf, soeMagic0, soeMagic1)
	return binary.LittleEndian.AppendUint64(buf, fp)
}

func appendConfluentHeader(buf []byte, id int) []byte {
	buf = append(buf, confluentMagic)
	return binary.BigEndian.AppendUint32(buf, uint32(id))
}
