package ordergen

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

func TestJSONLRoundTrips(t *testing.T) {
	for _, p := range take(New(Config{Seed: 11}), 2000) {
		line, err := MarshalJSONL(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseJSONL(line)
		if err != nil {
			t.Fatalf("parse %s: %v", line, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", line, got, p)
		}
	}
}

// TestMarshalJSONLShape pins the documented shape: field names and order,
// the time format and integer amounts.
func TestMarshalJSONLShape(t *testing.T) {
	p := order.Placed{
		OrderID:         "o-42-1",
		CustomerID:      "c-00017",
		PlacedAt:        time.Date(2026, 3, 2, 9, 0, 0, 123_456_789, time.FixedZone("CET", 3600)),
		Currency:        "EUR",
		Lines:           []order.Line{{SKU: "MUG-2001", Quantity: 2, UnitPriceCents: 1199}},
		TotalCents:      2398,
		ShippingCountry: "DE",
		Channel:         "web",
	}
	got, err := MarshalJSONL(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"order_id":"o-42-1","customer_id":"c-00017","placed_at":"2026-03-02T08:00:00.123Z",` +
		`"currency":"EUR","lines":[{"sku":"MUG-2001","quantity":2,"unit_price_cents":1199}],` +
		`"total_cents":2398,"shipping_country":"DE","channel":"web"}`
	if string(got) != want {
		t.Fatalf("MarshalJSONL:\n got %s\nwant %s", got, want)
	}
	empty, err := MarshalJSONL(order.Placed{})
	if err != nil || !strings.Contains(string(empty), `"lines":[]`) {
		t.Fatalf("an order without lines marshals to %s (%v), want \"lines\":[]", empty, err)
	}
}

func TestParseJSONL(t *testing.T) {
	const full = `{"order_id":"o-1","customer_id":"c-1","placed_at":"2026-03-02T09:00:00+01:00",` +
		`"currency":"EUR","lines":[{"sku":"A","quantity":-1,"unit_price_cents":100}],` +
		`"total_cents":-100,"shipping_country":"DE","channel":"mobile"}`
	cases := []struct {
		name    string
		line    string
		check   func(order.Placed) bool
		wantErr string
	}{
		{name: "full line, trailing newline", line: full + "\n",
			check: func(p order.Placed) bool {
				return p.Channel == "mobile" && p.Lines[0].Quantity == -1 &&
					p.PlacedAt.Equal(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)) && p.PlacedAt.Location() == time.UTC
			}},
		{name: "channel defaults to web", line: strings.Replace(full, `,"channel":"mobile"`, "", 1),
			check: func(p order.Placed) bool { return p.Channel == "web" }},
		{name: "missing fields are named", line: strings.Replace(strings.Replace(full, `"currency":"EUR",`, "", 1), `"sku":"A",`, "", 1),
			wantErr: "missing field: currency, lines[0].sku"},
		{name: "unknown field", line: strings.Replace(full, `"currency"`, `"curency"`, 1),
			wantErr: `unknown field "curency"`},
		{name: "bad time", line: strings.Replace(full, "2026-03-02T09:00:00+01:00", "yesterday", 1),
			wantErr: "placed_at"},
		{name: "quantity out of int32", line: strings.Replace(full, `"quantity":-1`, `"quantity":3000000000`, 1),
			wantErr: "quantity"},
		{name: "two values", line: full + full, wantErr: "more than one JSON value"},
		{name: "not JSON", line: "o-1,c-1,EUR", wantErr: "parse order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseJSONL([]byte(c.line))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(p) {
				t.Fatalf("parsed %+v", p)
			}
		})
	}
	if _, err := ParseJSONL([]byte(`{"order_id":"o-1"}`)); !errors.Is(err, ErrMissingField) {
		t.Fatalf("incomplete order: %v, want ErrMissingField", err)
	}
}

// FuzzParseJSONL: parsing never panics, and whatever parses marshals to a
// line that parses back to the same order.
func FuzzParseJSONL(f *testing.F) {
	for _, p := range take(New(Config{Seed: 1}), 20) {
		line, _ := MarshalJSONL(p)
		f.Add(line)
	}
	f.Add([]byte(`{"order_id":"","customer_id":"","placed_at":"0001-01-01T00:00:00Z","currency":"","lines":[],"total_cents":0,"shipping_country":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := ParseJSONL(line)
		if err != nil {
			return
		}
		p.PlacedAt = p.PlacedAt.Truncate(time.Millisecond)
		again, err := MarshalJSONL(p)
		if err != nil {
			return // e.g. a year outside 0-9999 after the UTC conversion
		}
		q, err := ParseJSONL(again)
		if err != nil {
			t.Fatalf("%s parses but its marshalled form %s does not: %v", line, again, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%s: round trip changed the order:\n%+v\n%+v", line, p, q)
		}
	})
}
