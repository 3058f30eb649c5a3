// Package records is the format of the benchmark's input records, shared by
// the loader, every Go contender and the output check (the Java contenders
// have the same in java/handler/.../Records.java): record seq has key
// Key(seq, keys) and a 100-byte value whose first 8 bytes are seq,
// big-endian, so every output can carry its input's sequence number.
package records

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// ValueSize is the size of every input value.
const ValueSize = 100

// Value returns the value of record seq.
func Value(seq int64) []byte {
	v := make([]byte, ValueSize)
	binary.BigEndian.PutUint64(v, uint64(seq))
	for i := 8; i < ValueSize; i++ {
		v[i] = byte(seq*31 + int64(i))
	}
	return v
}

// Key returns the key of record seq among keys keys: keys take turns, so
// every key's records are spread evenly over the input.
func Key(seq int64, keys int) []byte {
	return []byte("k" + strconv.FormatInt(seq%int64(keys), 10))
}

// Seq returns the sequence number an input or output value carries.
func Seq(v []byte) (int64, error) {
	if len(v) < 8 {
		return 0, fmt.Errorf("value of %d bytes: want at least 8 (the sequence number)", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}
