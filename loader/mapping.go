package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/schemas"
)

// Mapping maps rows of JSON Lines or CSV onto one Avro record schema and
// picks each record's key from one of its fields. It is immutable and safe
// for concurrent use.
type Mapping struct {
	schema   *schemas.Schema
	root     *schemas.Type
	keyField string // "" for no key
}

// NewMapping returns the mapping of rows onto schema (usually the latest
// version of a record, Set.Latest). keyField names the top-level field whose
// value becomes the record key; it must be a string, enum, int or long,
// possibly nullable (a null gives a null key). An empty keyField leaves
// every key null, which spreads records over partitions.
func NewMapping(schema *schemas.Schema, keyField string) (*Mapping, error) {
	root := schema.Type()
	if root == nil {
		return nil, fmt.Errorf("schema %s was not compiled by package schemas: take it from a schemas.Set (Latest, Versions)", schema)
	}
	m := &Mapping{schema: schema, root: root, keyField: keyField}
	if keyField == "" {
		return m, nil
	}
	i := m.fieldIndex(keyField)
	if i < 0 {
		return nil, fmt.Errorf("key field %q is not a field of %s (fields: %s)", keyField, schema.Name, strings.Join(m.FieldNames(), ", "))
	}
	kt := root.Fields()[i].Type()
	if kt.Kind() == schemas.KindUnion {
		if bs, nullable := nonNull(kt); nullable && len(bs) == 1 {
			kt = bs[0]
		}
	}
	if _, ts := timestamp(kt); ts || !slices.Contains([]schemas.Kind{schemas.KindString, schemas.KindEnum, schemas.KindInt, schemas.KindLong}, kt.Kind()) {
		return nil, fmt.Errorf("key field %q (%s) is not a string, enum, int or long field", keyField, describe(root.Fields()[i].Type()))
	}
	return m, nil
}

// Schema returns the schema rows are mapped onto.
func (m *Mapping) Schema() *schemas.Schema { return m.schema }

// FieldNames returns the record's top-level field names, in schema order.
func (m *Mapping) FieldNames() []string {
	names := make([]string, len(m.root.Fields()))
	for i, f := range m.root.Fields() {
		names[i] = f.Name()
	}
	return names
}

func (m *Mapping) fieldIndex(name string) int {
	return slices.IndexFunc(m.root.Fields(), func(f schemas.Field) bool { return f.Name() == name })
}

// Row is one input row mapped onto the schema.
type Row struct {
	// Native is the record in goavro's native form, ready for
	// schemas.Serde.Encode or the schema's Codec.
	Native map[string]any
	// Key is the record key taken from the key field; nil without one.
	Key []byte
}

// FieldError is one thing wrong with a row.
type FieldError struct {
	// Field is the path of the offending value, as "lines[1].quantity";
	// empty when the row as a whole is wrong (not JSON, wrong cell count).
	Field string
	// Problem says what was expected and what was found:
	// `expected int, got "three"`.
	Problem string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Problem)
}

// JSON maps one JSON Lines row, a JSON object. The errors list every
// problem found, in field order; the Row is only meaningful without them.
func (m *Mapping) JSON(line []byte) (Row, []FieldError) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Row{}, []FieldError{{Problem: "invalid JSON: " + jsonProblem(err)}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Row{}, []FieldError{{Problem: "invalid JSON: more than one value on the line"}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Row{}, []FieldError{{Problem: fmt.Sprintf("expected a JSON object (%s), got %s", m.schema.Name, gotJSON(v))}}
	}
	var c converter
	native := c.record("", m.root, obj)
	if len(c.errs) > 0 {
		return Row{}, c.errs
	}
	return Row{Native: native, Key: m.key(native)}, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the line ends inside a JSON value"
	}
	return err.Error()
}

// key renders the key field's value as the record key.
func (m *Mapping) key(native map[string]any) []byte {
	if m.keyField == "" {
		return nil
	}
	v := native[m.keyField]
	if u, ok := v.(map[string]any); ok { // a nullable key that is set
		for _, inner := range u {
			v = inner
		}
	}
	switch v := v.(type) {
	case string:
		return []byte(v)
	case int32:
		return strconv.AppendInt(nil, int64(v), 10)
	case int64:
		return strconv.AppendInt(nil, v, 10)
	}
	return nil // null, or a key field left to its default
}

// converter turns decoded JSON (numbers as json.Number) or CSV cells into
// goavro native values, collecting every problem on the way.
type converter struct {
	errs []FieldError
}

func (c *converter) fail(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: path, Problem: fmt.Sprintf(format, args...)})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (c *converter) record(path string, t *schemas.Type, obj map[string]any) map[string]any {
	out := make(map[string]any, len(t.Fields()))
	for _, f := range t.Fields() {
		v, ok := obj[f.Name()]
		if !ok {
			if !f.HasDefault() {
				c.fail(join(path, f.Name()), "missing, expected %s", describe(f.Type()))
			}
			continue // goavro fills in the default
		}
		out[f.Name()] = c.value(join(path, f.Name()), f.Type(), v)
	}
	var unknown []string
	for name := range obj {
		if !slices.ContainsFunc(t.Fields(), func(f schemas.Field) bool { return f.Name() == name }) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		c.fail(join(path, name), "not a field of %s", t.Name())
	}
	return out
}

// value converts one JSON value.
func (c *converter) value(path string, t *schemas.Type, v any) any {
	bad := func() any {
		c.fail(path, "expected %s, got %s", describe(t), gotJSON(v))
		return nil
	}
	switch t.Kind() {
	case schemas.KindNull:
		if v != nil {
			return bad()
		}
		return nil
	case schemas.KindBoolean:
		if b, ok := v.(bool); ok {
			return b
		}
		return bad()
	case schemas.KindInt, schemas.KindLong, schemas.KindFloat, schemas.KindDouble:
		if perSecond, ok := timestamp(t); ok {
			if s, ok := v.(string); ok {
				return c.timeText(path, t, perSecond, s, strconv.Quote(s))
			}
		}
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		return c.number(path, t, string(n), string(n))
	case schemas.KindString, schemas.KindEnum, schemas.KindBytes, schemas.KindFixed:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		return c.text(path, t, s, gotJSON(v))
	case schemas.KindArray:
		arr, ok := v.([]any)
		if !ok {
			return bad()
		}
		out := make([]any, len(arr))
		for i, item := range arr {
			out[i] = c.value(fmt.Sprintf("%s[%d]", path, i), t.Items(), item)
		}
		return out
	case schemas.KindMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		out := make(map[string]any, len(obj))
		for k, item := range obj {
			out[k] = c.value(join(path, k), t.Items(), item)
		}
		return out
	case schemas.KindRecord:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		return c.record(path, t, obj)
	case schemas.KindUnion:
		return c.union(path, t, v)
	}
	c.fail(path, "type %s is not supported by the loader", t.Kind())
	return nil
}

func (c *converter) union(path string, t *schemas.Type, v any) any {
	branches, nullable := nonNull(t)
	if v == nil {
		if nullable {
			return nil
		}
		c.fail(path, "expected %s, got null", describe(t))
		return nil
	}
	// Avro's own JSON encoding names the branch: {"string": "x"}.
	if obj, ok := v.(map[string]any); ok && len(obj) == 1 {
		for k, inner := range obj {
			for _, b := range branches {
				if b.UnionKey() == k {
					return map[string]any{k: c.value(path, b, inner)}
				}
			}
		}
	}
	if len(branches) == 1 {
		return map[string]any{branches[0].UnionKey(): c.value(path, branches[0], v)}
	}
	for _, b := range branches {
		var try converter
		if out := try.value(path, b, v); len(try.errs) == 0 {
			return map[string]any{b.UnionKey(): out}
		}
	}
	c.fail(path, "expected %s, got %s", describe(t), gotJSON(v))
	return nil
}

// number parses the text of a number (JSON) or a cell (CSV) as t.
func (c *converter) number(path string, t *schemas.Type, s, got string) any {
	switch t.Kind() {
	case schemas.KindInt, schemas.KindLong:
		bits := 32
		if t.Kind() == schemas.KindLong {
			bits = 64
		}
		n, err := strconv.ParseInt(s, 10, bits)
		if errors.Is(err, strconv.ErrRange) {
			c.fail(path, "expected %s, got %s (out of range)", describe(t), got)
			return nil
		}
		if err != nil {
			c.fail(path, "expected %s, got %s", describe(t), got)
			return nil
		}
		if perSecond, ok := timestamp(t); ok {
			return fromEpoch(n, perSecond)
		}
		if t.Kind() == schemas.KindInt {
			return int32(n)
		}
		return n
	case schemas.KindFloat, schemas.KindDouble:
		bits := 64
		if t.Kind() == schemas.KindFloat {
			bits = 32
		}
		f, err := strconv.ParseFloat(s, bits)
		if err != nil {
			c.fail(path, "expected %s, got %s", describe(t), got)
			return nil
		}
		if t.Kind() == schemas.KindFloat {
			return float32(f)
		}
		return f
	}
	panic("loader: number called for " + t.Kind().String())
}

func fromEpoch(n, perSecond int64) time.Time {
	return time.Unix(n/perSecond, n%perSecond*(1e9/perSecond)).UTC()
}

// timeText parses an RFC 3339 timestamp, or an integer of epoch units.
func (c *converter) timeText(path string, t *schemas.Type, perSecond int64, s, got string) any {
	if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return at.UTC()
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return fromEpoch(n, perSecond)
	}
	c.fail(path, "expected %s, got %s", describe(t), got)
	return nil
}

// text converts a string to a string, enum, bytes or fixed value.
func (c *converter) text(path string, t *schemas.Type, s, got string) any {
	switch t.Kind() {
	case schemas.KindString:
		return s
	case schemas.KindEnum:
		if !slices.Contains(t.Symbols(), s) {
			c.fail(path, "expected %s, got %s", describe(t), got)
			return nil
		}
		return s
	case schemas.KindBytes:
		return []byte(s)
	case schemas.KindFixed:
		if len(s) != t.Size() {
			c.fail(path, "expected %s, got %s (%d bytes)", describe(t), got, len(s))
			return nil
		}
		return []byte(s)
	}
	panic("loader: text called for " + t.Kind().String())
}

// gotJSON shows a JSON value in a message.
func gotJSON(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return string(v)
	case string:
		return quote(v)
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprint(v)
}

// quote quotes s for a message, shortened to 60 characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:57]) + "..."
	}
	return strconv.Quote(s)
}
