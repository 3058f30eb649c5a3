package loader

import (
	"encoding/json"
	"fmt"
	"strings"
)

// avroType is the part of a parsed Avro schema that mapping needs. schemas
// keeps its own parse private, so the loader reads Schema.Text again.
type avroType struct {
	kind     string // null, boolean, int, long, float, double, bytes, string, record, enum, array, map, union, fixed
	logical  string // logicalType, e.g. timestamp-millis
	name     string // full name of a record, enum or fixed
	fields   []avroField
	symbols  []string
	size     int         // fixed
	items    *avroType   // array items, map values
	branches []*avroType // union
}

type avroField struct {
	name       string
	typ        *avroType
	hasDefault bool
}

// unionKey is how goavro names this type as a union branch.
func (t *avroType) unionKey() string {
	switch t.kind {
	case "record", "enum", "fixed":
		return t.name
	}
	if t.logical != "" {
		switch t.kind + "." + t.logical {
		case "long.timestamp-millis", "long.timestamp-micros", "int.time-millis", "long.time-micros", "int.date", "bytes.decimal":
			return t.kind + "." + t.logical
		}
	}
	return t.kind
}

// timestamp reports whether t is a long read as a point in time, and how
// many of its units make a second.
func (t *avroType) timestamp() (perSecond int64, ok bool) {
	if t.kind != "long" {
		return 0, false
	}
	switch t.logical {
	case "timestamp-millis":
		return 1e3, true
	case "timestamp-micros":
		return 1e6, true
	}
	return 0, false
}

// describe names t for "expected ..." in messages.
func (t *avroType) describe() string {
	if _, ok := t.timestamp(); ok {
		unit := "milliseconds"
		if t.logical == "timestamp-micros" {
			unit = "microseconds"
		}
		return "timestamp (RFC 3339 or epoch " + unit + ")"
	}
	switch t.kind {
	case "record":
		return "object (" + t.name + ")"
	case "enum":
		return "one of " + strings.Join(t.symbols, ", ")
	case "array":
		return "array of " + t.items.describe()
	case "map":
		return "object of " + t.items.describe()
	case "fixed":
		return fmt.Sprintf("string of %d bytes", t.size)
	case "union":
		names := make([]string, len(t.branches))
		for i, b := range t.branches {
			names[i] = b.describe()
		}
		// "string or null" reads better than "null or string".
		if len(names) == 2 && names[0] == "null" {
			names[0], names[1] = names[1], names[0]
		}
		return strings.Join(names, " or ")
	}
	return t.kind
}

// nonNull returns the branches of a union other than null, and whether
// null is one of them.
func (t *avroType) nonNull() (branches []*avroType, nullable bool) {
	for _, b := range t.branches {
		if b.kind == "null" {
			nullable = true
		} else {
			branches = append(branches, b)
		}
	}
	return branches, nullable
}

// parseAvro parses schema JSON, resolving named types as the Avro spec
// does (enclosing namespace first).
func parseAvro(text string) (*avroType, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("parse schema JSON: %w", err)
	}
	p := avroParser{named: map[string]*avroType{}}
	return p.parse(v, "")
}

type avroParser struct {
	named map[string]*avroType
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

func (p *avroParser) parse(v any, ns string) (*avroType, error) {
	switch t := v.(type) {
	case string:
		if primitives[t] {
			return &avroType{kind: t}, nil
		}
		if n, ok := p.named[qualify(t, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[t]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type name %q", t)
	case []any:
		u := &avroType{kind: "union"}
		for _, b := range t {
			bt, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, bt)
		}
		return u, nil
	case map[string]any:
		return p.parseObject(t, ns)
	}
	return nil, fmt.Errorf("schema element %v is neither a string, an array nor an object", v)
}

func (p *avroParser) parseObject(m map[string]any, ns string) (*avroType, error) {
	typ, ok := m["type"].(string)
	if !ok {
		return p.parse(m["type"], ns)
	}
	switch typ {
	case "record", "error", "enum", "fixed":
		name, _ := m["name"].(string)
		if explicit, ok := m["namespace"].(string); ok && !strings.Contains(name, ".") {
			ns = explicit
		}
		t := &avroType{kind: typ, name: qualify(name, ns)}
		if typ == "error" {
			t.kind = "record"
		}
		p.named[t.name] = t // before the fields, for recursive types
		switch typ {
		case "enum":
			syms, _ := m["symbols"].([]any)
			for _, s := range syms {
				str, _ := s.(string)
				t.symbols = append(t.symbols, str)
			}
		case "fixed":
			size, _ := m["size"].(float64)
			t.size = int(size)
		default:
			fields, _ := m["fields"].([]any)
			inner := t.name[:max(0, strings.LastIndexByte(t.name, '.'))]
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				fname, _ := fm["name"].(string)
				ft, err := p.parse(fm["type"], inner)
				if err != nil {
					return nil, fmt.Errorf("field %s.%s: %w", t.name, fname, err)
				}
				_, hasDefault := fm["default"]
				t.fields = append(t.fields, avroField{name: fname, typ: ft, hasDefault: hasDefault})
			}
		}
		return t, nil
	case "array", "map":
		key := "items"
		if typ == "map" {
			key = "values"
		}
		items, err := p.parse(m[key], ns)
		if err != nil {
			return nil, err
		}
		return &avroType{kind: typ, items: items}, nil
	}
	if primitives[typ] {
		logical, _ := m["logicalType"].(string)
		return &avroType{kind: typ, logical: logical}, nil
	}
	return p.parse(typ, ns)
}

func qualify(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}
