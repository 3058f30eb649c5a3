package loader

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/schemas"
)

// This file reads the parsed schemas of package schemas (Schema.Type) the
// way the mapping needs them: which longs are points in time, and how to
// name a type in "expected ..." messages.

// timestamp reports whether t is a long read as a point in time, and how
// many of its units make a second.
func timestamp(t *schemas.Type) (perSecond int64, ok bool) {
	if t.Kind() != schemas.KindLong {
		return 0, false
	}
	switch t.Logical() {
	case "timestamp-millis":
		return 1e3, true
	case "timestamp-micros":
		return 1e6, true
	}
	return 0, false
}

// describe names t for "expected ..." in messages.
func describe(t *schemas.Type) string {
	if _, ok := timestamp(t); ok {
		unit := "milliseconds"
		if t.Logical() == "timestamp-micros" {
			unit = "microseconds"
		}
		return "timestamp (RFC 3339 or epoch " + unit + ")"
	}
	switch t.Kind() {
	case schemas.KindRecord:
		return "object (" + t.Name() + ")"
	case schemas.KindEnum:
		return "one of " + strings.Join(t.Symbols(), ", ")
	case schemas.KindArray:
		return "array of " + describe(t.Items())
	case schemas.KindMap:
		return "object of " + describe(t.Items())
	case schemas.KindFixed:
		return fmt.Sprintf("string of %d bytes", t.Size())
	case schemas.KindUnion:
		names := make([]string, len(t.Branches()))
		for i, b := range t.Branches() {
			names[i] = describe(b)
		}
		// "string or null" reads better than "null or string".
		if len(names) == 2 && names[0] == "null" {
			names[0], names[1] = names[1], names[0]
		}
		return strings.Join(names, " or ")
	}
	return t.Kind().String()
}

// nonNull returns the branches of a union other than null, and whether
// null is one of them.
func nonNull(t *schemas.Type) (branches []*schemas.Type, nullable bool) {
	for _, b := range t.Branches() {
		if b.Kind() == schemas.KindNull {
			nullable = true
		} else {
			branches = append(branches, b)
		}
	}
	return branches, nullable
}
