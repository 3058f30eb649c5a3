package validate_test

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/validate"
)

func ExampleCheck() {
	p := order.Placed{
		OrderID: " o-1 ", CustomerID: "c-1", Currency: "eur", ShippingCountry: "de", Channel: "Web",
		Lines:      []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}},
		TotalCents: 2600,
	}
	if _, rej := validate.Check(p, time.Now()); rej != nil {
		fmt.Println("rejected:", rej.Reason)
	}

	p.TotalCents = 2500
	v, _ := validate.Check(p, time.Now())
	fmt.Printf("%q %s %s %s\n", v.OrderID, v.Currency, v.ShippingCountry, v.Channel)
	// Output:
	// rejected: lines sum to 2500 cents but total_cents is 2600
	// "o-1" EUR DE web
}
