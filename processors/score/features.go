package score

import (
	"hash/fnv"
	"math"

	"github.com/sluice-dev/sluice/processors/order"
)

// The features the model reads, by index into Features. Every feature is
// scaled to roughly [0, 1] so that random split thresholds land in range.
const (
	FeatTotal        = iota // log10 of the total in cents, /8
	FeatLineCount           // number of lines, capped at 50, /50
	FeatMaxUnitPrice        // log10 of the dearest unit price in cents, /8
	FeatQuantity            // log10 of the summed quantity, /4
	FeatAvgUnitPrice        // log10 of total / quantity, /8
	FeatMaxLineShare        // share of the total in the largest line
	FeatDistinctSKUs        // distinct SKUs / lines; low means repeated lines
	FeatRoundTotal          // 1 when the total is a whole hundred units
	FeatHour                // UTC hour the order was placed, /24
	FeatNight               // 1 when placed between 00:00 and 05:59 UTC
	FeatWeekday             // day of week, Sunday = 0, /7
	FeatCountryRisk         // 0 for the usual markets, 1 for anywhere else
	FeatCrossBorder         // 1 when the currency is not the shipping country's
	FeatMobile              // 1 for the mobile channel
	FeatAPI                 // 1 for the api channel
	FeatCustomerHash        // FNV-1a of the customer ID in [0, 1)

	NumFeatures // number of features
)

// Features is the model input for one order.
type Features [NumFeatures]float64

// riskDirection says, per feature, whether a higher value should push the
// generated model towards fraud (+1), away from it (-1) or neither (0). It is
// what makes a random ensemble behave like a trained one: big, round,
// cross-border, night-time API orders score high.
var riskDirection = Features{
	FeatTotal:        +1,
	FeatLineCount:    +0.3,
	FeatMaxUnitPrice: +1,
	FeatQuantity:     +0.5,
	FeatAvgUnitPrice: +0.5,
	FeatMaxLineShare: +0.3,
	FeatDistinctSKUs: -0.5,
	FeatRoundTotal:   +0.5,
	FeatHour:         0,
	FeatNight:        +0.7,
	FeatWeekday:      0,
	FeatCountryRisk:  +1,
	FeatCrossBorder:  +1,
	FeatMobile:       0,
	FeatAPI:          +0.7,
	FeatCustomerHash: 0,
}

// lowRiskCountries are the markets Sluice mostly ships to.
var lowRiskCountries = map[string]bool{
	"US": true, "CA": true, "GB": true, "IE": true, "DE": true, "FR": true,
	"NL": true, "BE": true, "LU": true, "AT": true, "CH": true, "IT": true,
	"ES": true, "PT": true, "SE": true, "NO": true, "DK": true, "FI": true,
	"PL": true, "JP": true, "AU": true, "NZ": true,
}

// homeCurrency maps a shipping country to the currency it pays in; a
// mismatch is a cross-border order.
var homeCurrency = map[string]string{
	"US": "USD", "CA": "CAD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "AU": "AUD",
	"SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN",
	"IE": "EUR", "DE": "EUR", "FR": "EUR", "NL": "EUR", "BE": "EUR", "LU": "EUR",
	"AT": "EUR", "IT": "EUR", "ES": "EUR", "PT": "EUR", "FI": "EUR",
}

// FeaturesOf derives the model features from a validated order.
func FeaturesOf(v order.Validated) Features {
	var f Features
	var qty, maxUnit, maxLine int64
	skus := make(map[string]bool, len(v.Lines))
	for _, l := range v.Lines {
		qty += int64(l.Quantity)
		maxUnit = max(maxUnit, l.UnitPriceCents)
		maxLine = max(maxLine, int64(l.Quantity)*l.UnitPriceCents)
		skus[l.SKU] = true
	}
	placed := v.PlacedAt.UTC()

	f[FeatTotal] = log10p1(v.TotalCents) / 8
	f[FeatLineCount] = float64(min(len(v.Lines), 50)) / 50
	f[FeatMaxUnitPrice] = log10p1(maxUnit) / 8
	f[FeatQuantity] = log10p1(qty) / 4
	if qty > 0 {
		f[FeatAvgUnitPrice] = log10p1(v.TotalCents/qty) / 8
	}
	if v.TotalCents > 0 {
		f[FeatMaxLineShare] = float64(maxLine) / float64(v.TotalCents)
	}
	if len(v.Lines) > 0 {
		f[FeatDistinctSKUs] = float64(len(skus)) / float64(len(v.Lines))
	}
	f[FeatRoundTotal] = flag(v.TotalCents > 0 && v.TotalCents%10000 == 0)
	f[FeatHour] = float64(placed.Hour()) / 24
	f[FeatNight] = flag(placed.Hour() < 6)
	f[FeatWeekday] = float64(placed.Weekday()) / 7
	f[FeatCountryRisk] = flag(!lowRiskCountries[v.ShippingCountry])
	f[FeatCrossBorder] = flag(homeCurrency[v.ShippingCountry] != v.Currency)
	f[FeatMobile] = flag(v.Channel == "mobile")
	f[FeatAPI] = flag(v.Channel == "api")
	h := fnv.New64a()
	h.Write([]byte(v.CustomerID))
	f[FeatCustomerHash] = float64(h.Sum64()>>11) / (1 << 53)
	return f
}

func log10p1(n int64) float64 { return math.Log10(float64(max(n, 0)) + 1) }

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
