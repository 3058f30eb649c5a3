package loader

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/schemas"
)

// CSVHeader is a CSV file's header row matched to the schema's fields.
type CSVHeader struct {
	m      *Mapping
	fields []schemas.Field // per column
}

// CSV matches a header row to the record's top-level fields. It fails, with
// one problem per column or field, if a column names no field, a field is
// named twice, or a field without a default has no column.
func (m *Mapping) CSV(header []string) (*CSVHeader, []FieldError) {
	h := &CSVHeader{m: m, fields: make([]schemas.Field, len(header))}
	var c converter
	seen := map[string]bool{}
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		j := m.fieldIndex(name)
		switch {
		case j < 0:
			c.fail(name, "column %d is not a field of %s (fields: %s)", i+1, m.schema.Name, strings.Join(m.FieldNames(), ", "))
		case seen[name]:
			c.fail(name, "column %d repeats the column of the same name", i+1)
		default:
			h.fields[i] = m.root.Fields()[j]
		}
		seen[name] = true
	}
	for _, f := range m.root.Fields() {
		if !seen[f.Name()] && !f.HasDefault() {
			c.fail(f.Name(), "missing column, expected %s (the field has no default)", describe(f.Type()))
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return h, nil
}

// Row maps one CSV record (its cells, one per header column). See the
// package documentation for how cells are read.
func (h *CSVHeader) Row(cells []string) (Row, []FieldError) {
	if len(cells) != len(h.fields) {
		return Row{}, []FieldError{{Problem: fmt.Sprintf("expected %d cells (one per header column), got %d", len(h.fields), len(cells))}}
	}
	var c converter
	native := make(map[string]any, len(cells))
	for i, cell := range cells {
		f := h.fields[i]
		if cell == "" && f.Type().Kind() != schemas.KindString && f.Type().Kind() != schemas.KindUnion {
			if !f.HasDefault() {
				c.fail(f.Name(), "expected %s, got an empty cell", describe(f.Type()))
			}
			continue
		}
		native[f.Name()] = c.cell(f.Name(), f.Type(), cell)
	}
	if len(c.errs) > 0 {
		return Row{}, c.errs
	}
	return Row{Native: native, Key: h.m.key(native)}, nil
}

// cell converts one CSV cell.
func (c *converter) cell(path string, t *schemas.Type, s string) any {
	got := quote(s)
	switch t.Kind() {
	case schemas.KindNull:
		if s != "" {
			c.fail(path, "expected null (an empty cell), got %s", got)
		}
		return nil
	case schemas.KindBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil {
			c.fail(path, "expected boolean, got %s", got)
			return nil
		}
		return b
	case schemas.KindInt, schemas.KindLong, schemas.KindFloat, schemas.KindDouble:
		if perSecond, ok := timestamp(t); ok {
			return c.timeText(path, t, perSecond, s, got)
		}
		return c.number(path, t, s, got)
	case schemas.KindString, schemas.KindEnum, schemas.KindBytes, schemas.KindFixed:
		return c.text(path, t, s, got)
	case schemas.KindArray, schemas.KindMap, schemas.KindRecord:
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			c.fail(path, "expected %s as a JSON-encoded cell, got %s", describe(t), got)
			return nil
		}
		return c.value(path, t, v)
	case schemas.KindUnion:
		branches, nullable := nonNull(t)
		if s == "" && nullable {
			return nil
		}
		if len(branches) == 1 {
			return map[string]any{branches[0].UnionKey(): c.cell(path, branches[0], s)}
		}
		for _, b := range branches {
			var try converter
			if out := try.cell(path, b, s); len(try.errs) == 0 {
				return map[string]any{b.UnionKey(): out}
			}
		}
		c.fail(path, "expected %s, got %s", describe(t), got)
		return nil
	}
	c.fail(path, "type %s is not supported by the loader", t.Kind())
	return nil
}
