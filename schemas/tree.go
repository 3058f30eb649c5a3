package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kind is an Avro type's kind: a primitive, or record, enum, array, map,
// union or fixed.
type Kind uint8

// The kinds of Avro types.
const (
	KindNull Kind = iota
	KindBoolean
	KindInt
	KindLong
	KindFloat
	KindDouble
	KindBytes
	KindString
	KindRecord // also an Avro "error"
	KindEnum
	KindArray
	KindMap
	KindUnion
	KindFixed
)

var kindNames = [...]string{
	KindNull: "null", KindBoolean: "boolean", KindInt: "int", KindLong: "long",
	KindFloat: "float", KindDouble: "double", KindBytes: "bytes", KindString: "string",
	KindRecord: "record", KindEnum: "enum", KindArray: "array", KindMap: "map",
	KindUnion: "union", KindFixed: "fixed",
}

// String returns the kind's name in the Avro specification: "long",
// "record", "union"...
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

var primitiveKinds = map[string]Kind{
	"null": KindNull, "boolean": KindBoolean, "int": KindInt, "long": KindLong,
	"float": KindFloat, "double": KindDouble, "bytes": KindBytes, "string": KindString,
}

// goavroLogical lists the logical types goavro turns into their own codecs;
// goavro names union branches of these "<base>.<logicalType>".
var goavroLogical = map[string]bool{
	"long.timestamp-millis": true, "long.timestamp-micros": true,
	"int.time-millis": true, "long.time-micros": true, "int.date": true,
	"bytes.decimal": true,
}

// Type is one node of a parsed schema (Schema.Type): goavro keeps its own
// parse private, and the body scanner (scan.go), the resolver (resolve.go)
// and the loader's row mapping need the shape. A Type is immutable, like
// the Set it belongs to; the slices its methods return are shared and must
// not be modified.
type Type struct {
	kind     Kind
	base     string   // the type name as written, e.g. "long", "record"
	name     string   // full name of a record, enum or fixed
	logical  string   // logicalType, if any
	fields   []Field  // record
	symbols  []string // enum
	size     int      // fixed: byte length
	items    *Type    // array items or map values
	branches []*Type  // union

	// minSize is the fewest bytes a value of this type encodes to; the
	// scanner uses it to reject block counts the input cannot hold.
	minSize int
}

// Field is one field of a record Type.
type Field struct {
	name       string
	typ        *Type
	hasDefault bool
}

// Name returns the field's name.
func (f Field) Name() string { return f.name }

// Type returns the field's type.
func (f Field) Type() *Type { return f.typ }

// HasDefault reports whether the schema gives the field a default, so that
// a writer may leave it out.
func (f Field) HasDefault() bool { return f.hasDefault }

// Kind returns the type's kind.
func (n *Type) Kind() Kind { return n.kind }

// Name returns the full name of a record, enum or fixed, else "".
func (n *Type) Name() string { return n.name }

// Logical returns the type's logicalType ("timestamp-millis"...), or "".
func (n *Type) Logical() string { return n.logical }

// Fields returns a record's fields in schema order.
func (n *Type) Fields() []Field { return n.fields }

// Symbols returns an enum's symbols in schema order.
func (n *Type) Symbols() []string { return n.symbols }

// Size returns a fixed's length in bytes.
func (n *Type) Size() int { return n.size }

// Items returns an array's item type or a map's value type, else nil.
func (n *Type) Items() *Type { return n.items }

// Branches returns a union's branches in schema order.
func (n *Type) Branches() []*Type { return n.branches }

// UnionKey is the key goavro uses for this type when it is a union branch
// in native form, map[string]any{key: value}: a named type's full name,
// "long.timestamp-millis" for a logical type goavro knows, else the kind.
func (n *Type) UnionKey() string {
	switch n.kind {
	case KindRecord, KindEnum, KindFixed:
		return n.name
	}
	if n.logical != "" && goavroLogical[n.base+"."+n.logical] {
		return n.base + "." + n.logical
	}
	return n.base
}

// parseSchema parses schema JSON into a Type tree, resolving references to
// named types the way the Avro spec does (enclosing namespace first).
func parseSchema(text string) (*Type, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("parse schema JSON: %w", err)
	}
	p := parser{named: map[string]*Type{}}
	root, err := p.parse(v, "")
	if err != nil {
		return nil, err
	}
	computeMinSize(root, map[*Type]bool{})
	return root, nil
}

type parser struct {
	named map[string]*Type
}

func (p *parser) parse(v any, ns string) (*Type, error) {
	switch t := v.(type) {
	case string:
		if k, ok := primitiveKinds[t]; ok {
			return &Type{kind: k, base: t}, nil
		}
		if n, ok := p.named[fullName(t, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[t]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type name %q (namespace %q)", t, ns)
	case []any:
		n := &Type{kind: KindUnion, base: "union"}
		for i, b := range t {
			bn, err := p.parse(b, ns)
			if err != nil {
				return nil, fmt.Errorf("union branch %d: %w", i, err)
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case map[string]any:
		return p.parseObject(t, ns)
	}
	return nil, fmt.Errorf("schema element %v (%T) is neither a string, an array nor an object", v, v)
}

func (p *parser) parseObject(m map[string]any, ns string) (*Type, error) {
	typ, ok := m["type"].(string)
	if !ok {
		// {"type": {...}} or {"type": [...]}: the wrapper adds nothing.
		return p.parse(m["type"], ns)
	}
	switch typ {
	case "record", "error", "enum", "fixed":
		return p.parseNamed(typ, m, ns)
	case "array", "map":
		key := "items"
		k := KindArray
		if typ == "map" {
			key, k = "values", KindMap
		}
		items, err := p.parse(m[key], ns)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", typ, key, err)
		}
		return &Type{kind: k, base: typ, items: items}, nil
	}
	if k, ok := primitiveKinds[typ]; ok {
		logical, _ := m["logicalType"].(string)
		return &Type{kind: k, base: typ, logical: logical}, nil
	}
	return p.parse(typ, ns) // {"type": "SomeNamedType"}
}

func (p *parser) parseNamed(typ string, m map[string]any, ns string) (*Type, error) {
	short, _ := m["name"].(string)
	if short == "" {
		return nil, fmt.Errorf("%s without a name", typ)
	}
	if explicit, ok := m["namespace"].(string); ok && !strings.Contains(short, ".") {
		ns = explicit
	}
	n := &Type{base: typ, name: fullName(short, ns)}
	// Register before parsing fields so recursive references resolve.
	p.named[n.name] = n
	switch typ {
	case "enum":
		n.kind = KindEnum
		syms, _ := m["symbols"].([]any)
		for _, sym := range syms {
			str, _ := sym.(string)
			n.symbols = append(n.symbols, str)
		}
	case "fixed":
		n.kind = KindFixed
		size, _ := m["size"].(float64)
		n.size = int(size)
	default:
		n.kind = KindRecord
		fields, _ := m["fields"].([]any)
		for i, f := range fields {
			fm, _ := f.(map[string]any)
			fname, _ := fm["name"].(string)
			ft, err := p.parse(fm["type"], namespaceOf(n.name))
			if err != nil {
				return nil, fmt.Errorf("record %s field %d (%q): %w", n.name, i, fname, err)
			}
			_, hasDefault := fm["default"]
			n.fields = append(n.fields, Field{name: fname, typ: ft, hasDefault: hasDefault})
		}
	}
	return n, nil
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func namespaceOf(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i]
	}
	return ""
}

// computeMinSize fills minSize bottom-up. A record still being computed
// (recursion) counts as 0, which only makes the scanner's bound looser.
func computeMinSize(n *Type, busy map[*Type]bool) int {
	if busy[n] {
		return n.minSize
	}
	busy[n] = true
	switch n.kind {
	case KindNull:
		n.minSize = 0
	case KindFloat:
		n.minSize = 4
	case KindDouble:
		n.minSize = 8
	case KindFixed:
		n.minSize = n.size
	case KindRecord:
		n.minSize = 0
		for _, f := range n.fields {
			n.minSize += computeMinSize(f.typ, busy)
		}
	case KindArray, KindMap:
		computeMinSize(n.items, busy)
		n.minSize = 1 // the terminating zero block count
	case KindUnion:
		for _, b := range n.branches {
			computeMinSize(b, busy)
		}
		n.minSize = 1 // the branch index
	default: // boolean, int, long, bytes, string, enum: at least one byte
		n.minSize = 1
	}
	return n.minSize
}
