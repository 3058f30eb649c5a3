package schemas

import (
	"fmt"
)

// resolve turns a value decoded with writer into the shape of reader, the
// same record at another version, following Avro's schema resolution rules
// for records: a field only the writer has is dropped; a field only the
// reader has takes the reader's default, or fails if it has none. goavro
// implements no resolution, hence this.
//
// It walks the reader schema over the writer's value, projecting records
// (top-level and nested, inside arrays, maps and unions) to the reader's
// fields, then lets the reader's codec fill in defaults by encoding and
// decoding the projection: goavro already converts defaults to native
// values (unions, logical types) at compile time, so this reuses that
// instead of a second implementation. It costs one extra encode/decode, and
// only when writer and reader differ.
//
// Type promotions (int to long, etc.) work where goavro's encoder accepts the
// wider Go type; enum symbol changes and branch changes other than by
// name are not resolved and fail with ErrWrongSchema.
func resolve(writer, reader *Schema, v map[string]any) (map[string]any, error) {
	projected, err := project(reader.root, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read as %s: %v", ErrWrongSchema, writer, reader, err)
	}
	bin, err := reader.Codec.BinaryFromNative(nil, projected)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read as %s: %v", ErrWrongSchema, writer, reader, err)
	}
	out, _, err := reader.Codec.NativeFromBinary(bin)
	if err != nil {
		return nil, fmt.Errorf("resolve %s to %s: re-decode: %w", writer, reader, err)
	}
	return out.(map[string]any), nil
}

func project(reader *Type, v any) (any, error) {
	switch reader.kind {
	case KindRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record %s: writer value is %T, not a record", reader.name, v)
		}
		out := make(map[string]any, len(reader.fields))
		for _, f := range reader.fields {
			wv, ok := m[f.name]
			if !ok {
				if !f.hasDefault {
					return nil, fmt.Errorf("field %s.%s is not in the writer schema and has no default", reader.name, f.name)
				}
				continue // the codec fills the default
			}
			pv, err := project(f.typ, wv)
			if err != nil {
				return nil, err
			}
			out[f.name] = pv
		}
		return out, nil
	case KindArray:
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("writer value is %T, not an array", v)
		}
		out := make([]any, len(items))
		for i, it := range items {
			pv, err := project(reader.items, it)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = pv
		}
		return out, nil
	case KindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("writer value is %T, not a map", v)
		}
		out := make(map[string]any, len(m))
		for k, it := range m {
			pv, err := project(reader.items, it)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			out[k] = pv
		}
		return out, nil
	case KindUnion:
		return projectUnion(reader, v)
	}
	return v, nil
}

// projectUnion matches the writer's branch to the reader's by goavro's
// branch name (see Type.UnionKey).
func projectUnion(reader *Type, v any) (any, error) {
	if v == nil {
		return nil, nil // the encoder checks the reader has a null branch
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, fmt.Errorf("writer value %T is not a union value; changing a field to or from a union is not supported", v)
	}
	for key, bv := range m {
		for _, b := range reader.branches {
			if b.UnionKey() == key {
				pv, err := project(b, bv)
				if err != nil {
					return nil, err
				}
				return map[string]any{key: pv}, nil
			}
		}
		return nil, fmt.Errorf("writer union branch %q is not in the reader's union", key)
	}
	return nil, nil // unreachable: len(m) == 1
}
