package validate

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

var now = time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)

func good() order.Placed {
	return order.Placed{
		OrderID:    "o-1",
		CustomerID: "c-1",
		PlacedAt:   time.Date(2026, 3, 4, 12, 30, 0, 0, time.UTC),
		Currency:   "EUR",
		Lines: []order.Line{
			{SKU: "mug", Quantity: 2, UnitPriceCents: 1250},
			{SKU: "tea", Quantity: 1, UnitPriceCents: 899},
		},
		TotalCents:      3399,
		ShippingCountry: "DE",
		Channel:         "web",
	}
}

func TestCheckRules(t *testing.T) {
	tests := []struct {
		name       string
		change     func(p *order.Placed)
		wantReason string // empty: the order is valid
	}{
		{"valid order", func(p *order.Placed) {}, ""},
		{"free line is fine", func(p *order.Placed) {
			p.Lines = append(p.Lines, order.Line{SKU: "sticker", Quantity: 1, UnitPriceCents: 0})
		}, ""},
		{"missing order_id", func(p *order.Placed) { p.OrderID = "  " }, "missing order_id"},
		{"missing customer_id", func(p *order.Placed) { p.CustomerID = "" }, "missing customer_id"},
		{"missing currency", func(p *order.Placed) { p.Currency = "" }, "missing currency"},
		{"missing shipping_country", func(p *order.Placed) { p.ShippingCountry = "" }, "missing shipping_country"},
		{"no lines", func(p *order.Placed) { p.Lines = nil; p.TotalCents = 0 }, "order has no lines"},
		{"empty sku", func(p *order.Placed) { p.Lines[1].SKU = " " }, "line 2: missing sku"},
		{"zero quantity", func(p *order.Placed) { p.Lines[0].Quantity = 0 }, "line 1: quantity 0 is not positive"},
		{"negative quantity", func(p *order.Placed) { p.Lines[0].Quantity = -2 }, "line 1: quantity -2 is not positive"},
		{"negative unit price", func(p *order.Placed) { p.Lines[1].UnitPriceCents = -899 }, "line 2: unit_price_cents -899 is negative"},
		{"unknown currency", func(p *order.Placed) { p.Currency = "XBT" }, `unknown currency "XBT"`},
		{"unknown channel", func(p *order.Placed) { p.Channel = "fax" }, `unknown channel "fax", want web, mobile or api`},
		{"empty channel", func(p *order.Placed) { p.Channel = "" }, `unknown channel "", want web, mobile or api`},
		{"three-letter country", func(p *order.Placed) { p.ShippingCountry = "DEU" }, `shipping_country "DEU" is not a two-letter code`},
		{"digits for country", func(p *order.Placed) { p.ShippingCountry = "D1" }, `shipping_country "D1" is not a two-letter code`},
		{"total too high", func(p *order.Placed) { p.TotalCents = 3400 }, "lines sum to 3399 cents but total_cents is 3400"},
		{"total too low", func(p *order.Placed) { p.TotalCents = 0 }, "lines sum to 3399 cents but total_cents is 0"},
		{"line total overflows", func(p *order.Placed) {
			p.Lines = []order.Line{{SKU: "yacht", Quantity: 3, UnitPriceCents: math.MaxInt64 / 2}}
		}, "line 1: 3 x 4611686018427387903 cents overflows"},
		{"order total overflows", func(p *order.Placed) {
			p.Lines = []order.Line{
				{SKU: "a", Quantity: 1, UnitPriceCents: math.MaxInt64 - 10},
				{SKU: "b", Quantity: 1, UnitPriceCents: 11},
			}
		}, "line 2: order total overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.change(&p)
			v, rej := Check(p, now)
			switch {
			case tt.wantReason == "" && rej != nil:
				t.Fatalf("Check rejected a valid order: %s", rej.Reason)
			case tt.wantReason != "" && rej == nil:
				t.Fatalf("Check accepted the order, want rejection %q", tt.wantReason)
			case rej != nil && rej.Reason != tt.wantReason:
				t.Fatalf("Check reason = %q, want %q", rej.Reason, tt.wantReason)
			case rej == nil && !v.ValidatedAt.Equal(now):
				t.Fatalf("ValidatedAt = %v, want %v", v.ValidatedAt, now)
			}
		})
	}
}

func TestCheckNormalizes(t *testing.T) {
	p := good()
	p.OrderID, p.CustomerID = "  o-1\t", " c-1 "
	p.Currency, p.ShippingCountry, p.Channel = " eur", "de ", " Mobile "
	p.Lines[0].SKU = " mug "

	v, rej := Check(p, now)
	if rej != nil {
		t.Fatalf("Check rejected an order that only needed normalizing: %s", rej.Reason)
	}
	want := good()
	want.Channel = "mobile"
	if !reflect.DeepEqual(v.Placed, want) {
		t.Fatalf("normalized order:\n got %#v\nwant %#v", v.Placed, want)
	}
	if p.Lines[0].SKU != " mug " {
		t.Fatalf("Check modified the caller's lines: SKU now %q", p.Lines[0].SKU)
	}
}
