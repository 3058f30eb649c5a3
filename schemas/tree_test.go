package schemas_test

import (
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/schemas"
)

// TestTypeShowsTheSchema: Schema.Type is what code mapping other data onto a
// schema reads (the loader), so it must show every field, in order, with
// the facts the .avsc file states.
func TestTypeShowsTheSchema(t *testing.T) {
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	field := func(record, name string) schemas.Field {
		t.Helper()
		s, err := set.Latest(record)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range s.Type().Fields() {
			if f.Name() == name {
				return f
			}
		}
		t.Fatalf("%s has no field %q", record, name)
		return schemas.Field{}
	}

	placed, _ := set.Latest(schemas.OrderPlaced)
	root := placed.Type()
	var names []string
	for _, f := range root.Fields() {
		names = append(names, f.Name())
	}
	if want := []string{"order_id", "customer_id", "placed_at", "currency", "lines", "total_cents", "shipping_country", "channel"}; root.Kind() != schemas.KindRecord ||
		root.Name() != schemas.OrderPlaced || !slices.Equal(names, want) {
		t.Fatalf("OrderPlaced v2: %v %q with fields %v, want a record %q with %v", root.Kind(), root.Name(), names, schemas.OrderPlaced, want)
	}

	tests := []struct {
		record, field string
		kind          schemas.Kind
		hasDefault    bool
		unionKey      string
		check         func(t *testing.T, typ *schemas.Type)
	}{
		{record: schemas.OrderPlaced, field: "order_id", kind: schemas.KindString, unionKey: "string"},
		{record: schemas.OrderPlaced, field: "channel", kind: schemas.KindString, hasDefault: true, unionKey: "string"},
		{record: schemas.OrderPlaced, field: "placed_at", kind: schemas.KindLong, unionKey: "long.timestamp-millis",
			check: func(t *testing.T, typ *schemas.Type) {
				if typ.Logical() != "timestamp-millis" {
					t.Errorf("logical type %q, want timestamp-millis", typ.Logical())
				}
			}},
		{record: schemas.OrderPlaced, field: "lines", kind: schemas.KindArray, unionKey: "array",
			check: func(t *testing.T, typ *schemas.Type) {
				item := typ.Items()
				if item.Kind() != schemas.KindRecord || item.Name() != "sluice.orders.OrderLine" || len(item.Fields()) != 3 ||
					item.Fields()[1].Name() != "quantity" || item.Fields()[1].Type().Kind() != schemas.KindInt {
					t.Errorf("items: %v %q with %d fields, want record sluice.orders.OrderLine (sku, quantity int, unit_price_cents)", item.Kind(), item.Name(), len(item.Fields()))
				}
			}},
		{record: schemas.OrderStatus, field: "status", kind: schemas.KindEnum, unionKey: "sluice.orders.Status",
			check: func(t *testing.T, typ *schemas.Type) {
				if want := []string{"ACCEPTED", "VALIDATED", "SCORED", "CONFIRMED", "REJECTED"}; !slices.Equal(typ.Symbols(), want) {
					t.Errorf("symbols %v, want %v", typ.Symbols(), want)
				}
			}},
		{record: schemas.OrderDecided, field: "reason", kind: schemas.KindUnion, hasDefault: true, unionKey: "union",
			check: func(t *testing.T, typ *schemas.Type) {
				b := typ.Branches()
				if len(b) != 2 || b[0].Kind() != schemas.KindNull || b[1].UnionKey() != "string" {
					t.Errorf("branches %v, want null and string", b)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.record+"."+tt.field, func(t *testing.T) {
			f := field(tt.record, tt.field)
			typ := f.Type()
			if typ.Kind() != tt.kind || f.HasDefault() != tt.hasDefault || typ.UnionKey() != tt.unionKey {
				t.Errorf("kind %v, default %v, union key %q; want %v, %v, %q", typ.Kind(), f.HasDefault(), typ.UnionKey(), tt.kind, tt.hasDefault, tt.unionKey)
			}
			if tt.check != nil {
				tt.check(t, typ)
			}
		})
	}
}

func TestKindStringIsTheSpecName(t *testing.T) {
	for k, want := range map[schemas.Kind]string{
		schemas.KindNull: "null", schemas.KindLong: "long", schemas.KindRecord: "record",
		schemas.KindUnion: "union", schemas.KindFixed: "fixed", schemas.Kind(99): "Kind(99)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
