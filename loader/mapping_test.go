package loader

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/schemas"
)

func mapping(t *testing.T, schema, keyField string) *Mapping {
	t.Helper()
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := set.Latest(schema)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMapping(s, keyField)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const goodOrder = `{"order_id":"o-1","customer_id":"c-1","placed_at":"2026-03-02T09:00:00+01:00","currency":"EUR",` +
	`"lines":[{"sku":"A","quantity":2,"unit_price_cents":100},{"sku":"B","quantity":1,"unit_price_cents":50}],` +
	`"total_cents":250,"shipping_country":"DE","channel":"mobile"}`

func problems(errs []FieldError) string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n")
}

func TestJSONRowsAreCheckedAgainstTheSchema(t *testing.T) {
	m := mapping(t, "OrderPlaced", "order_id")
	cases := []struct {
		name, line, want string
	}{
		{"string for an int inside an array", strings.Replace(goodOrder, `"quantity":1`, `"quantity":"three"`, 1),
			`field "lines[1].quantity": expected int, got "three"`},
		{"int out of range", strings.Replace(goodOrder, `"quantity":2`, `"quantity":3000000000`, 1),
			`field "lines[0].quantity": expected int, got 3000000000 (out of range)`},
		{"fraction for a long", strings.Replace(goodOrder, `"total_cents":250`, `"total_cents":2.5`, 1),
			`field "total_cents": expected long, got 2.5`},
		{"missing required field", strings.Replace(goodOrder, `"currency":"EUR",`, ``, 1),
			`field "currency": missing, expected string`},
		{"unknown field", strings.Replace(goodOrder, `"currency"`, `"curency"`, 1),
			"field \"currency\": missing, expected string\nfield \"curency\": not a field of sluice.orders.OrderPlaced"},
		{"bad timestamp", strings.Replace(goodOrder, `"2026-03-02T09:00:00+01:00"`, `"yesterday"`, 1),
			`field "placed_at": expected timestamp (RFC 3339 or epoch milliseconds), got "yesterday"`},
		{"number for a string", strings.Replace(goodOrder, `"c-1"`, `17`, 1),
			`field "customer_id": expected string, got 17`},
		{"object for an array", `{"order_id":"o","customer_id":"c","placed_at":0,"currency":"EUR","lines":{},"total_cents":0,"shipping_country":"DE"}`,
			`field "lines": expected array of object (sluice.orders.OrderLine), got an object`},
		{"not JSON", `o-1,c-1,EUR`, `invalid JSON: invalid character 'o' looking for beginning of value (at byte 1)`},
		{"truncated", goodOrder[:40], `invalid JSON: the line ends inside a JSON value`},
		{"two values", goodOrder + ` {}`, `invalid JSON: more than one value on the line`},
		{"not an object", `[1,2]`, `expected a JSON object (sluice.orders.OrderPlaced), got an array of 2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := m.JSON([]byte(c.line))
			if got := problems(errs); got != c.want {
				t.Fatalf("problems:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestJSONRowMapsToNative(t *testing.T) {
	m := mapping(t, "OrderPlaced", "order_id")
	row, errs := m.JSON([]byte(goodOrder))
	if errs != nil {
		t.Fatal(problems(errs))
	}
	want := map[string]any{
		"order_id": "o-1", "customer_id": "c-1", "placed_at": time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		"currency": "EUR", "total_cents": int64(250), "shipping_country": "DE", "channel": "mobile",
		"lines": []any{
			map[string]any{"sku": "A", "quantity": int32(2), "unit_price_cents": int64(100)},
			map[string]any{"sku": "B", "quantity": int32(1), "unit_price_cents": int64(50)},
		},
	}
	if !reflect.DeepEqual(row.Native, want) {
		t.Fatalf("native %#v\nwant %#v", row.Native, want)
	}
	if string(row.Key) != "o-1" {
		t.Fatalf("key %q, want o-1", row.Key)
	}
	if _, err := m.Schema().Codec.BinaryFromNative(nil, row.Native); err != nil {
		t.Fatalf("goavro rejects the mapped row: %v", err)
	}
	// epoch milliseconds are a timestamp too, and a field with a default
	// may be left out.
	epoch := strings.Replace(strings.Replace(goodOrder, `"2026-03-02T09:00:00+01:00"`, `1772438400000`, 1), `,"channel":"mobile"`, ``, 1)
	row, errs = m.JSON([]byte(epoch))
	if errs != nil {
		t.Fatal(problems(errs))
	}
	if got := row.Native["placed_at"]; got != time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) {
		t.Fatalf("placed_at %v", got)
	}
	b, err := m.Schema().Codec.BinaryFromNative(nil, row.Native)
	if err != nil {
		t.Fatal(err)
	}
	back, _, _ := m.Schema().Codec.NativeFromBinary(b)
	if ch := back.(map[string]any)["channel"]; ch != "web" {
		t.Fatalf("channel left out encodes as %v, want the default web", ch)
	}
}

// Any schema maps by name: OrderDecided has an enum and nullable unions,
// given bare, as null, left out, or in Avro's JSON form.
func TestAnySchemaMapsByName(t *testing.T) {
	m := mapping(t, "sluice.orders.OrderDecided", "order_id")
	base := `"order_id":"o-1","customer_id":"c-1","stage":"decide","total_cents":1,"currency":"EUR","placed_at":0,"decided_at":"2026-03-02T08:00:00Z"`
	for _, c := range []struct{ line, want string }{
		{`{` + base + `,"decision":"CONFIRMED","reason":null,"risk_score":0.1}`, ""},
		{`{` + base + `,"decision":"REJECTED","reason":"late","risk_score":{"double":0.9}}`, ""},
		{`{` + base + `,"decision":"REJECTED"}`, ""},
		{`{` + base + `,"decision":"MAYBE","risk_score":"high"}`,
			"field \"decision\": expected one of CONFIRMED, REJECTED, got \"MAYBE\"\nfield \"risk_score\": expected double, got \"high\""},
	} {
		row, errs := m.JSON([]byte(c.line))
		if got := problems(errs); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.line, got, c.want)
			continue
		}
		if errs == nil {
			if _, err := m.Schema().Codec.BinaryFromNative(nil, row.Native); err != nil {
				t.Errorf("%s: goavro rejects %v: %v", c.line, row.Native, err)
			}
		}
	}
}

func TestCSVCellsAreCheckedAgainstTheSchema(t *testing.T) {
	m := mapping(t, "OrderPlaced", "order_id")
	h, errs := m.CSV([]string{"order_id", "customer_id", "placed_at", "currency", "lines", "total_cents", "shipping_country"})
	if errs != nil {
		t.Fatal(problems(errs))
	}
	good := []string{"o-1", "c-1", "1772438400000", "EUR", `[{"sku":"A","quantity":2,"unit_price_cents":100}]`, "200", "DE"}
	row, errs := h.Row(good)
	if errs != nil {
		t.Fatal(problems(errs))
	}
	if _, err := m.Schema().Codec.BinaryFromNative(nil, row.Native); err != nil {
		t.Fatal(err)
	}
	with := func(i int, v string) []string { r := append([]string(nil), good...); r[i] = v; return r }
	for _, c := range []struct {
		cells []string
		want  string
	}{
		{with(5, "two hundred"), `field "total_cents": expected long, got "two hundred"`},
		{with(5, ""), `field "total_cents": expected long, got an empty cell`},
		{with(4, "A x2"), `field "lines": expected array of object (sluice.orders.OrderLine) as a JSON-encoded cell, got "A x2"`},
		{with(4, `[{"sku":"A","quantity":"2","unit_price_cents":100}]`), `field "lines[0].quantity": expected int, got "2"`},
		{with(2, "2026-13-01"), `field "placed_at": expected timestamp (RFC 3339 or epoch milliseconds), got "2026-13-01"`},
		{good[:6], `expected 7 cells (one per header column), got 6`},
	} {
		_, errs := h.Row(c.cells)
		if got := problems(errs); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.cells, got, c.want)
		}
	}
	_, errs = m.CSV([]string{"order_id", "order_id", "curency"})
	want := `field "order_id": column 2 repeats the column of the same name
field "curency": column 3 is not a field of sluice.orders.OrderPlaced (fields: order_id, customer_id, placed_at, currency, lines, total_cents, shipping_country, channel)
field "customer_id": missing column, expected string (the field has no default)
field "placed_at": missing column, expected timestamp (RFC 3339 or epoch milliseconds) (the field has no default)
field "currency": missing column, expected string (the field has no default)
field "lines": missing column, expected array of object (sluice.orders.OrderLine) (the field has no default)
field "total_cents": missing column, expected long (the field has no default)
field "shipping_country": missing column, expected string (the field has no default)`
	if got := problems(errs); got != want {
		t.Errorf("bad header:\n got %s\nwant %s", got, want)
	}
}

func TestCSVEmptyCellOfNullableFieldIsNull(t *testing.T) {
	m := mapping(t, "OrderDecided", "")
	h, errs := m.CSV([]string{"order_id", "customer_id", "decision", "reason", "stage", "risk_score", "total_cents", "currency", "placed_at", "decided_at"})
	if errs != nil {
		t.Fatal(problems(errs))
	}
	row, errs := h.Row([]string{"o-1", "c-1", "CONFIRMED", "", "decide", "0.25", "100", "EUR", "0", "2026-03-02T08:00:00Z"})
	if errs != nil {
		t.Fatal(problems(errs))
	}
	if row.Native["reason"] != nil || !reflect.DeepEqual(row.Native["risk_score"], map[string]any{"double": 0.25}) {
		t.Fatalf("reason %v, risk_score %v", row.Native["reason"], row.Native["risk_score"])
	}
	if row.Key != nil {
		t.Fatalf("key %q without a key field", row.Key)
	}
	if _, err := m.Schema().Codec.BinaryFromNative(nil, row.Native); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFieldMustBeAScalarOfTheSchema(t *testing.T) {
	set, _ := schemas.Load()
	s, _ := set.Latest("OrderPlaced")
	for field, want := range map[string]string{
		"id":        `key field "id" is not a field of sluice.orders.OrderPlaced`,
		"lines":     `key field "lines" (array of object (sluice.orders.OrderLine)) is not a string, enum, int or long field`,
		"placed_at": `key field "placed_at" (timestamp (RFC 3339 or epoch milliseconds)) is not`,
	} {
		if _, err := NewMapping(s, field); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key field %s: %v, want %q", field, err, want)
		}
	}
}
