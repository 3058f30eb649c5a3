package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
)

// kind is an Avro type, as far as the body scanner and the resolver need to
// know it.
type kind uint8

const (
	kindNull kind = iota
	kindBoolean
	kindInt
	kindLong
	kindFloat
	kindDouble
	kindBytes
	kindString
	kindRecord
	kindEnum
	kindArray
	kindMap
	kindUnion
	kindFixed
)

var primitiveKinds = map[string]kind{
	"null": kindNull, "boolean": kindBoolean, "int": kindInt, "long": kindLong,
	"float": kindFloat, "double": kindDouble, "bytes": kindBytes, "string": kindString,
}

// goavroLogical lists the logical types goavro turns into their own codecs;
// goavro names union branches of these "<base>.<logicalType>".
var goavroLogical = map[string]bool{
	"long.timestamp-millis": true, "long.timestamp-micros": true,
	"int.time-millis": true, "long.time-micros": true, "int.date": true,
	"bytes.decimal": true,
}

// node is a parsed Avro schema. goavro keeps its parse private, and both
// the body scanner (scan.go) and the resolver (resolve.go) need the shape.
type node struct {
	kind     kind
	base     string  // the type name as written, e.g. "long", "record"
	name     string  // full name of a record, enum or fixed
	logical  string  // logicalType, if any
	fields   []field // record
	symbols  int     // enum: number of symbols
	size     int     // fixed: byte length
	items    *node   // array items or map values
	branches []*node // union

	// minSize is the fewest bytes a value of this type encodes to; the
	// scanner uses it to reject block counts the input cannot hold.
	minSize int
}

type field struct {
	name       string
	typ        *node
	hasDefault bool
}

// unionKey is the key goavro uses for this type when it is a union branch in
// native form: map[string]any{unionKey: value}.
func (n *node) unionKey() string {
	switch n.kind {
	case kindRecord, kindEnum, kindFixed:
		return n.name
	}
	if n.logical != "" && goavroLogical[n.base+"."+n.logical] {
		return n.base + "." + n.logical
	}
	return n.base
}

// parseSchema parses schema JSON into a node tree, resolving references to
// named types the way the Avro spec does (enclosing namespace first).
func parseSchema(text string) (*node, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("parse schema JSON: %w", err)
	}
	p := parser{named: map[string]*node{}}
	root, err := p.parse(v, "")
	if err != nil {
		return nil, err
	}
	computeMinSize(root, map[*node]bool{})
	return root, nil
}

type parser struct {
	named map[string]*node
}

func (p *parser) parse(v any, ns string) (*node, error) {
	switch t := v.(type) {
	case string:
		if k, ok := primitiveKinds[t]; ok {
			return &node{kind: k, base: t}, nil
		}
		if n, ok := p.named[fullName(t, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[t]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type name %q (namespace %q)", t, ns)
	case []any:
		n := &node{kind: kindUnion, base: "union"}
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

func (p *parser) parseObject(m map[string]any, ns string) (*node, error) {
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
		k := kindArray
		if typ == "map" {
			key, k = "values", kindMap
		}
		items, err := p.parse(m[key], ns)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", typ, key, err)
		}
		return &node{kind: k, base: typ, items: items}, nil
	}
	if k, ok := primitiveKinds[typ]; ok {
		logical, _ := m["logicalType"].(string)
		return &node{kind: k, base: typ, logical: logical}, nil
	}
	return p.parse(typ, ns) // {"type": "SomeNamedType"}
}

func (p *parser) parseNamed(typ string, m map[string]any, ns string) (*node, error) {
	short, _ := m["name"].(string)
	if short == "" {
		return nil, fmt.Errorf("%s without a name", typ)
	}
	if explicit, ok := m["namespace"].(string); ok && !strings.Contains(short, ".") {
		ns = explicit
	}
	n := &node{base: typ, name: fullName(short, ns)}
	// Register before parsing fields so recursive references resolve.
	p.named[n.name] = n
	switch typ {
	case "enum":
		n.kind = kindEnum
		syms, _ := m["symbols"].([]any)
		n.symbols = len(syms)
	case "fixed":
		n.kind = kindFixed
		size, _ := m["size"].(float64)
		n.size = int(size)
	default:
		n.kind = kindRecord
		fields, _ := m["fields"].([]any)
		for i, f := range fields {
			fm, _ := f.(map[string]any)
			fname, _ := fm["name"].(string)
			ft, err := p.parse(fm["type"], namespaceOf(n.name))
			if err != nil {
				return nil, fmt.Errorf("record %s field %d (%q): %w", n.name, i, fname, err)
			}
			_, hasDefault := fm["default"]
			n.fields = append(n.fields, field{name: fname, typ: ft, hasDefault: hasDefault})
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
func computeMinSize(n *node, busy map[*node]bool) int {
	if busy[n] {
		return n.minSize
	}
	busy[n] = true
	switch n.kind {
	case kindNull:
		n.minSize = 0
	case kindFloat:
		n.minSize = 4
	case kindDouble:
		n.minSize = 8
	case kindFixed:
		n.minSize = n.size
	case kindRecord:
		n.minSize = 0
		for _, f := range n.fields {
			n.minSize += computeMinSize(f.typ, busy)
		}
	case kindArray, kindMap:
		computeMinSize(n.items, busy)
		n.minSize = 1 // the terminating zero block count
	case kindUnion:
		for _, b := range n.branches {
			computeMinSize(b, busy)
		}
		n.minSize = 1 // the branch index
	default: // boolean, int, long, bytes, string, enum: at least one byte
		n.minSize = 1
	}
	return n.minSize
}
