// Package validate checks a placed order against Sluice's business rules and
// normalizes it. An order that breaks a rule is rejected, which is an
// outcome, not a failure: Check returns a Rejection, never an error, and
// Outputs turns it into an OrderDecided and an OrderStatus like any other
// decision. Both are pure functions of decoded values; records that cannot
// be read never reach them (processors/chain runs the stage behind a codec
// that dead-letters them).
package validate

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// Currencies are the ISO 4217 codes Sluice takes payment in.
var currencies = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "JPY": true, "CHF": true, "CAD": true,
	"AUD": true, "SEK": true, "NOK": true, "DKK": true, "PLN": true,
}

var channels = map[string]bool{"web": true, "mobile": true, "api": true}

// Rejection is why an order broke a business rule. Reason is written for the
// customer-service agent reading the order's status.
type Rejection struct {
	Reason string
}

func reject(format string, args ...any) *Rejection {
	return &Rejection{Reason: fmt.Sprintf(format, args...)}
}

// Normalize trims the IDs and SKUs, upper-cases currency and shipping
// country and lower-cases the channel, so that the rules and every later
// stage compare like with like. The lines are copied; p is not modified.
func Normalize(p order.Placed) order.Placed {
	p.OrderID = strings.TrimSpace(p.OrderID)
	p.CustomerID = strings.TrimSpace(p.CustomerID)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	p.ShippingCountry = strings.ToUpper(strings.TrimSpace(p.ShippingCountry))
	p.Channel = strings.ToLower(strings.TrimSpace(p.Channel))
	lines := make([]order.Line, len(p.Lines))
	for i, l := range p.Lines {
		l.SKU = strings.TrimSpace(l.SKU)
		lines[i] = l
	}
	p.Lines = lines
	return p
}

// Check normalizes p and applies the business rules to it, in the order of
// the rule table in the tests; the first broken rule is the rejection. A
// valid order comes back as a Validated stamped with now.
func Check(p order.Placed, now time.Time) (order.Validated, *Rejection) {
	p = Normalize(p)
	if r := checkFields(p); r != nil {
		return order.Validated{}, r
	}
	if r := checkLines(p); r != nil {
		return order.Validated{}, r
	}
	return order.Validated{Placed: p, ValidatedAt: now}, nil
}

func checkFields(p order.Placed) *Rejection {
	switch {
	case p.OrderID == "":
		return reject("missing order_id")
	case p.CustomerID == "":
		return reject("missing customer_id")
	case p.Currency == "":
		return reject("missing currency")
	case p.ShippingCountry == "":
		return reject("missing shipping_country")
	case len(p.Lines) == 0:
		return reject("order has no lines")
	case !currencies[p.Currency]:
		return reject("unknown currency %q", p.Currency)
	case !channels[p.Channel]:
		return reject("unknown channel %q, want web, mobile or api", p.Channel)
	case !isAlpha2(p.ShippingCountry):
		return reject("shipping_country %q is not a two-letter code", p.ShippingCountry)
	}
	return nil
}

func isAlpha2(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// checkLines checks each line and that they add up to the order total. Line
// numbers in reasons count from 1, as the storefront shows them.
func checkLines(p order.Placed) *Rejection {
	var sum int64
	for i, l := range p.Lines {
		n := i + 1
		switch {
		case l.SKU == "":
			return reject("line %d: missing sku", n)
		case l.Quantity <= 0:
			return reject("line %d: quantity %d is not positive", n, l.Quantity)
		case l.UnitPriceCents < 0:
			return reject("line %d: unit_price_cents %d is negative", n, l.UnitPriceCents)
		}
		// Both factors are non-negative here, so one division bounds the product.
		if l.UnitPriceCents > math.MaxInt64/int64(l.Quantity) {
			return reject("line %d: %d x %d cents overflows", n, l.Quantity, l.UnitPriceCents)
		}
		lineTotal := int64(l.Quantity) * l.UnitPriceCents
		if sum > math.MaxInt64-lineTotal {
			return reject("line %d: order total overflows", n)
		}
		sum += lineTotal
	}
	if sum != p.TotalCents {
		return reject("lines sum to %d cents but total_cents is %d", sum, p.TotalCents)
	}
	return nil
}
