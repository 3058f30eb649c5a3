package ordergen_test

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/processors/ordergen"
)

func Example() {
	g := ordergen.New(ordergen.Config{Seed: 42})
	for range 3 {
		p := g.Next()
		fmt.Printf("%s %s %-6s %s %d lines, %d %s\n", p.OrderID, p.PlacedAt.Format(time.TimeOnly),
			p.Channel, p.ShippingCountry, len(p.Lines), p.TotalCents, p.Currency)
	}
	// Output:
	// o-42-1 08:00:00 web    CA 1 lines, 76198 CAD
	// o-42-2 08:00:13 mobile US 4 lines, 10596 USD
	// o-42-3 08:00:54 web    MX 1 lines, 1299 USD
}

func ExampleMarshalJSONL() {
	p := ordergen.New(ordergen.Config{Seed: 42}).Next()
	line, _ := ordergen.MarshalJSONL(p)
	fmt.Println(string(line))
	back, _ := ordergen.ParseJSONL(line)
	fmt.Println(back.OrderID, back.TotalCents == p.TotalCents)
	// Output:
	// {"order_id":"o-42-1","customer_id":"c-00173","placed_at":"2026-03-02T08:00:00.000Z","currency":"CAD","lines":[{"sku":"MONITOR-4301","quantity":2,"unit_price_cents":38099}],"total_cents":76198,"shipping_country":"CA","channel":"web"}
	// o-42-1 true
}
