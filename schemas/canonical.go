package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// canonicalForm returns the Parsing Canonical Form of schema JSON, as the
// Avro specification defines it ("Parsing Canonical Form for Schemas").
//
// goavro's Codec.CanonicalSchema is not used because it keeps logical
// types as {"type":"long"} where the spec's [PRIMITIVES] rule requires
// "long", so its fingerprint for any schema with a timestamp-millis field
// differs from the one Java, Python and every other Avro implementation
// compute, and single-object messages would not interoperate.
func canonicalForm(text string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return "", fmt.Errorf("parse schema JSON: %w", err)
	}
	var b bytes.Buffer
	c := canonicalizer{out: &b, seen: map[string]bool{}}
	if err := c.write(v, ""); err != nil {
		return "", err
	}
	return b.String(), nil
}

type canonicalizer struct {
	out  *bytes.Buffer
	seen map[string]bool // named types already written; later uses are by name
}

func (c *canonicalizer) write(v any, ns string) error {
	switch t := v.(type) {
	case string:
		if _, ok := primitiveKinds[t]; ok {
			c.str(t)
			return nil
		}
		c.str(fullName(t, ns)) // [FULLNAMES]
		return nil
	case []any:
		c.out.WriteByte('[')
		for i, b := range t {
			if i > 0 {
				c.out.WriteByte(',')
			}
			if err := c.write(b, ns); err != nil {
				return err
			}
		}
		c.out.WriteByte(']')
		return nil
	case map[string]any:
		return c.writeObject(t, ns)
	}
	return fmt.Errorf("schema element %v (%T) is neither a string, an array nor an object", v, v)
}

// writeObject applies [PRIMITIVES], [FULLNAMES], [STRIP] and [ORDER]: only
// name, type, fields, symbols, items, values and size survive, in that order.
func (c *canonicalizer) writeObject(m map[string]any, ns string) error {
	typ, ok := m["type"].(string)
	if !ok {
		return c.write(m["type"], ns)
	}
	switch typ {
	case "record", "error", "enum", "fixed":
	case "array", "map":
		key := "items"
		if typ == "map" {
			key = "values"
		}
		c.out.WriteString(`{"type":`)
		c.str(typ)
		c.out.WriteString(`,"` + key + `":`)
		if err := c.write(m[key], ns); err != nil {
			return err
		}
		c.out.WriteByte('}')
		return nil
	default:
		return c.write(typ, ns) // a primitive, with or without logicalType
	}

	short, _ := m["name"].(string)
	if explicit, ok := m["namespace"].(string); ok && !strings.Contains(short, ".") {
		ns = explicit
	}
	name := fullName(short, ns)
	if c.seen[name] {
		c.str(name)
		return nil
	}
	c.seen[name] = true
	c.out.WriteString(`{"name":`)
	c.str(name)
	c.out.WriteString(`,"type":`)
	c.str(typ)
	switch typ {
	case "enum":
		c.out.WriteString(`,"symbols":`)
		syms, _ := m["symbols"].([]any)
		c.out.WriteByte('[')
		for i, s := range syms {
			if i > 0 {
				c.out.WriteByte(',')
			}
			str, _ := s.(string)
			c.str(str)
		}
		c.out.WriteByte(']')
	case "fixed":
		size, _ := m["size"].(float64)
		c.out.WriteString(`,"size":` + strconv.FormatInt(int64(size), 10)) // [INTEGERS]
	default:
		c.out.WriteString(`,"fields":[`)
		fields, _ := m["fields"].([]any)
		for i, f := range fields {
			if i > 0 {
				c.out.WriteByte(',')
			}
			fm, _ := f.(map[string]any)
			fname, _ := fm["name"].(string)
			c.out.WriteString(`{"name":`)
			c.str(fname)
			c.out.WriteString(`,"type":`)
			if err := c.write(fm["type"], namespaceOf(name)); err != nil {
				return fmt.Errorf("field %s.%s: %w", name, fname, err)
			}
			c.out.WriteByte('}')
		}
		c.out.WriteByte(']')
	}
	c.out.WriteByte('}')
	return nil
}

// str writes a JSON string literal with non-ASCII characters as UTF-8
// rather than \u escapes ([STRINGS]).
func (c *canonicalizer) str(s string) {
	enc := json.NewEncoder(c.out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)               // a string always encodes
	c.out.Truncate(c.out.Len() - 1) // Encode appends a newline
}
