package ordergen

import "math"

// market is a shipping country and the currency its customers pay in.
type market struct {
	country, currency string
}

// markets and their weights: where customers live. The last four are
// outside the fraud model's usual markets and pay in US dollars, so their
// everyday orders score somewhat higher without being fraud.
var (
	markets = []market{
		{"US", "USD"}, {"GB", "GBP"}, {"DE", "EUR"}, {"FR", "EUR"}, {"NL", "EUR"},
		{"ES", "EUR"}, {"IT", "EUR"}, {"IE", "EUR"}, {"CA", "CAD"}, {"JP", "JPY"},
		{"AU", "AUD"}, {"SE", "SEK"}, {"NO", "NOK"}, {"DK", "DKK"}, {"PL", "PLN"},
		{"CH", "CHF"}, {"BR", "USD"}, {"MX", "USD"}, {"SG", "USD"}, {"AE", "USD"},
	}
	marketWeights = []int{
		30, 10, 12, 8, 4,
		4, 4, 1, 6, 6,
		4, 2, 1, 1, 3,
		2, 1, 1, 1, 1,
	}
)

// riskyCountries are where fraud-like orders ship: none is a usual market.
var riskyCountries = []string{"BR", "MX", "SG", "AE", "NG", "ID", "VN", "ZA"}

// unknownCurrencies are codes package validate does not accept.
var unknownCurrencies = []string{"XBT", "USDT", "EURO", "ZZZ"}

var (
	channels       = []string{"web", "mobile", "api"}
	channelWeights = []int{55, 35, 10}
)

// Lines per order (1 to 5) and quantity per line (1 to 5).
var (
	lineCountWeights = []int{45, 25, 15, 10, 5}
	quantityWeights  = []int{70, 20, 7, 2, 1}
)

// product is a catalogue entry priced in US cents.
type product struct {
	sku      string
	usdCents int64
}

var catalogue = []product{
	{"BOOK-1001", 1499}, {"BOOK-1002", 2450}, {"MUG-2001", 1200}, {"TEE-3001", 1999},
	{"TEE-3002", 2499}, {"HOODIE-3101", 5499}, {"CABLE-4001", 999}, {"CHARGER-4002", 2999},
	{"HEADPHONES-4101", 14999}, {"KEYBOARD-4201", 8999}, {"MOUSE-4202", 3999}, {"MONITOR-4301", 27999},
	{"LAMP-5001", 4599}, {"PLANT-5101", 2299}, {"SNEAKER-6001", 11999}, {"SOCKS-6101", 899},
	{"COFFEE-7001", 1699}, {"TEA-7002", 1299}, {"BACKPACK-8001", 7999}, {"WATCH-8101", 24999},
	{"TOY-9001", 1999}, {"PUZZLE-9002", 2799}, {"GAME-9101", 5999}, {"BIKELIGHT-9201", 3499},
}

// giftCards are what fraud-like orders buy: round amounts, resold easily.
var giftCards = []product{
	{"GIFTCARD-200", 20000}, {"GIFTCARD-500", 50000},
}

// fx is how many minor units of a currency one US cent buys, roughly. For
// JPY, which has no minor unit, "cents" are yen.
var fx = map[string]float64{
	"USD": 1, "EUR": 0.92, "GBP": 0.79, "CHF": 0.88, "CAD": 1.36, "AUD": 1.52,
	"SEK": 10.5, "NOK": 10.7, "DKK": 6.9, "PLN": 4.0, "JPY": 1.5,
}

// localPrice converts a US price to currency and rounds it the way shops
// do: to .99 of the main unit, or up to whole tens of yen. Currencies
// without a rate keep the US amount.
func localPrice(usdCents int64, currency string) int64 {
	rate, ok := fx[currency]
	if !ok {
		rate = 1
	}
	v := int64(math.Round(float64(usdCents) * rate))
	if currency == "JPY" {
		return (v + 9) / 10 * 10
	}
	return v/100*100 + 99
}
