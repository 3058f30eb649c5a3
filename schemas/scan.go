package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// maxZeroSizeItems caps the items of an array or map whose items encode to
// zero bytes (e.g. an array of null): the input length cannot bound those.
const maxZeroSizeItems = 1 << 16

var stringNode = &Type{kind: KindString, base: "string", minSize: 1}

// scan walks an Avro binary body against the writer schema without building
// values, and returns the bytes after it. It exists because goavro trusts
// block counts (an array header claiming 2^31 items makes it allocate tens
// of gigabytes before noticing the input is short) and because its errors
// do not say where in the record decoding stopped.
func scan(n *Type, b []byte) ([]byte, error) {
	switch n.kind {
	case KindNull:
		return b, nil
	case KindBoolean:
		if len(b) < 1 {
			return nil, errShort("boolean", 1, b)
		}
		if b[0] > 1 {
			return nil, fmt.Errorf("boolean byte 0x%02x is neither 0 nor 1", b[0])
		}
		return b[1:], nil
	case KindInt, KindLong:
		_, rest, err := readLong(b, n.base)
		return rest, err
	case KindFloat:
		return skip(b, 4, "float")
	case KindDouble:
		return skip(b, 8, "double")
	case KindFixed:
		return skip(b, n.size, "fixed "+n.name)
	case KindBytes, KindString:
		l, rest, err := readLong(b, n.base+" length")
		if err != nil {
			return nil, err
		}
		if l < 0 {
			return nil, fmt.Errorf("%s length %d is negative", n.base, l)
		}
		if l > int64(len(rest)) {
			return nil, fmt.Errorf("%s length %d exceeds the %s remaining", n.base, l, plural(int64(len(rest)), "byte"))
		}
		return rest[l:], nil
	case KindEnum:
		i, rest, err := readLong(b, "enum index")
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return nil, fmt.Errorf("enum %s index %d out of range [0,%d)", n.name, i, len(n.symbols))
		}
		return rest, nil
	case KindUnion:
		i, rest, err := readLong(b, "union index")
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return nil, fmt.Errorf("union index %d out of range [0,%d)", i, len(n.branches))
		}
		return scan(n.branches[i], rest)
	case KindRecord:
		for _, f := range n.fields {
			var err error
			if b, err = scan(f.typ, b); err != nil {
				return nil, at(f.name, err)
			}
		}
		return b, nil
	case KindArray, KindMap:
		return scanBlocks(n, b)
	}
	return nil, fmt.Errorf("internal: unhandled kind %d", n.kind)
}

func scanBlocks(n *Type, b []byte) ([]byte, error) {
	itemMin := n.items.minSize
	if n.kind == KindMap {
		itemMin++ // the key's length
	}
	total := 0
	for {
		count, rest, err := readLong(b, n.base+" block count")
		if err != nil {
			return nil, err
		}
		b = rest
		if count == 0 {
			return b, nil
		}
		if count < 0 {
			// A negative count is followed by the block's byte size.
			if count == -count {
				return nil, fmt.Errorf("%s block count %d is invalid", n.base, count)
			}
			count = -count
			if _, b, err = readLong(b, n.base+" block size"); err != nil {
				return nil, err
			}
		}
		if itemMin > 0 && count > int64(len(b)/itemMin) {
			return nil, fmt.Errorf("%s block of %s needs at least %s each, but only %s", n.base,
				plural(count, "item"), plural(int64(itemMin), "byte"), remain(len(b)))
		}
		if total += int(count); itemMin == 0 && total > maxZeroSizeItems {
			return nil, fmt.Errorf("%s holds more than %d zero-size items", n.base, maxZeroSizeItems)
		}
		for i := int64(0); i < count; i++ {
			if n.kind == KindMap {
				if b, err = scan(stringNode, b); err != nil {
					return nil, at(fmt.Sprintf("[%d] key", total-int(count)+int(i)), err)
				}
			}
			if b, err = scan(n.items, b); err != nil {
				return nil, at(fmt.Sprintf("[%d]", total-int(count)+int(i)), err)
			}
		}
	}
}

// readLong reads one zig-zag varint, as int and long are encoded.
func readLong(b []byte, what string) (int64, []byte, error) {
	u, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, nil, fmt.Errorf("%s: input ends inside a varint (%d bytes left)", what, len(b))
	case n < 0:
		return 0, nil, fmt.Errorf("%s: varint overflows 64 bits", what)
	}
	return int64(u>>1) ^ -int64(u&1), b[n:], nil
}

func skip(b []byte, n int, what string) ([]byte, error) {
	if len(b) < n {
		return nil, errShort(what, n, b)
	}
	return b[n:], nil
}

func errShort(what string, need int, b []byte) error {
	return fmt.Errorf("%s needs %s but only %s", what, plural(int64(need), "byte"), remain(len(b)))
}

// pathError is a scan error and where in the record it happened, written
// as in the loader's messages: "lines[0].sku".
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// at puts step (a field name, or "[i]") in front of err's path.
func at(step string, err error) error {
	var p *pathError
	if !errors.As(err, &p) {
		return &pathError{path: step, err: err}
	}
	if strings.HasPrefix(p.path, "[") {
		return &pathError{path: step + p.path, err: p.err}
	}
	return &pathError{path: step + "." + p.path, err: p.err}
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func remain(n int) string {
	if n == 1 {
		return "1 byte remains"
	}
	return fmt.Sprintf("%d bytes remain", n)
}
