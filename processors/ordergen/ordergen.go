// Package ordergen generates a deterministic stream of synthetic OrderPlaced
// events for the reference order pipeline: the demo, the load generator and
// tests all draw their orders from it.
//
// The stream looks like a storefront's: customers mostly ordering from their
// home market in its currency, one to five lines of catalogue products, web,
// mobile and api channels, arrivals that thin out at night. Two small shares
// exercise the later stages:
//
//   - about 3% break a business rule (a non-positive quantity, an unknown
//     currency or a total that does not add up) and are rejected by
//     package validate;
//   - about 1.5% look like fraud (gift cards in large round amounts, shipped
//     abroad, through the api channel, more often at night) and are mostly
//     rejected by package decide on their risk score.
//
// The same Config always gives the same sequence. The generator uses its own
// arithmetic on a PCG source rather than math/rand/v2's distribution helpers,
// so the sequence (and testdata/orders.jsonl, generated with seed 42) does not
// change with the Go release.
package ordergen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// DefaultKeys is the number of distinct customers when Config.Keys is zero.
const DefaultKeys = 1000

// Shares of the generated orders. Risky orders are more likely at night
// (00:00-05:59 UTC), which is also when the fraud model trusts orders least.
const (
	InvalidShare    = 0.03 // orders that break a business rule
	RiskyDayShare   = 0.01 // fraud-like orders, 06:00-23:59 UTC
	RiskyNightShare = 0.06 // fraud-like orders, 00:00-05:59 UTC
)

// defaultStart is Config.Start's zero value: a Monday morning, so that a few
// thousand orders run through a full day and night.
var defaultStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// Config configures a Generator. The zero Config is usable: seed 0,
// DefaultKeys customers, no poison, starting 2026-03-02T08:00:00Z.
type Config struct {
	// Seed selects the sequence. Order IDs carry it ("o-<seed>-<n>"), so
	// streams with different seeds never share an ID.
	Seed int64
	// Keys is the number of distinct customers (customer IDs); a few of
	// them place many orders, most place few. Zero means DefaultKeys.
	Keys int
	// PoisonRate is the share, in [0, 1], of NextRecord's records that are
	// not a readable OrderPlaced at all: JSON, random bytes, another schema
	// or truncated Avro. It does not affect Next.
	PoisonRate float64
	// Start is the placed_at of the first order; later orders follow at
	// random intervals, a few seconds apart by day, longer at night. Zero
	// means 2026-03-02T08:00:00Z.
	Start time.Time
}

// Generator produces the order sequence of a Config. It is not safe for
// concurrent use: the sequence is one stream, and its order is the point.
type Generator struct {
	cfg      Config
	rng      source // orders
	poison   source // NextRecord's poison draws, so poison never shifts the orders
	n        int64  // orders generated so far
	clock    time.Time
	idPrefix string // "o-<seed>-"
	homes    []int  // market index of each customer
}

// New returns a Generator at the start of cfg's sequence. It panics if
// cfg.Keys is negative or cfg.PoisonRate is outside [0, 1]: those are
// programming errors, to be checked where the configuration is read.
func New(cfg Config) *Generator {
	if cfg.Keys < 0 || cfg.PoisonRate < 0 || cfg.PoisonRate > 1 || math.IsNaN(cfg.PoisonRate) {
		panic(fmt.Sprintf("ordergen.New: Keys %d, PoisonRate %v: want Keys >= 0 and PoisonRate in [0, 1]", cfg.Keys, cfg.PoisonRate))
	}
	if cfg.Keys == 0 {
		cfg.Keys = DefaultKeys
	}
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart
	}
	g := &Generator{
		cfg:      cfg,
		rng:      newSource(cfg.Seed, 0x0fde),
		poison:   newSource(cfg.Seed, 0xbad),
		clock:    cfg.Start.UTC().Truncate(time.Millisecond),
		homes:    make([]int, cfg.Keys),
		idPrefix: "o-" + strconv.FormatInt(cfg.Seed, 10) + "-",
	}
	for i := range g.homes {
		g.homes[i] = g.rng.weighted(marketWeights)
	}
	return g
}

// Next returns the next order of the sequence. Its ID is "o-<seed>-<n>",
// n counting from 1; its placed_at is after the previous order's, at
// millisecond precision (what Avro's timestamp-millis keeps).
func (g *Generator) Next() order.Placed {
	g.n++
	g.advanceClock()
	cust := g.customer()
	home := markets[g.homes[cust]]
	p := order.Placed{
		OrderID:         g.idPrefix + strconv.FormatInt(g.n, 10),
		CustomerID:      customerID(cust + 1),
		PlacedAt:        g.clock,
		Currency:        home.currency,
		ShippingCountry: home.country,
		Channel:         channels[g.rng.weighted(channelWeights)],
	}
	risky := RiskyDayShare
	if g.clock.Hour() < 6 {
		risky = RiskyNightShare
	}
	switch u := g.rng.float(); {
	case u < InvalidShare:
		g.fillLines(&p)
		g.breakRule(&p)
	case u < InvalidShare+risky:
		g.fillRisky(&p)
	default:
		g.fillLines(&p)
	}
	return p
}

// advanceClock moves the clock by an exponential gap: 14 s on average by
// day, 35 s at night, about 5,000 orders a day.
func (g *Generator) advanceClock() {
	if g.n == 1 {
		return
	}
	mean := 14.0
	if g.clock.Hour() < 6 {
		mean = 35.0
	}
	gap := -math.Log(1-g.rng.float()) * mean
	g.clock = g.clock.Add(time.Duration(gap*1000) * time.Millisecond)
}

// customer picks a customer index, skewed so that low indexes (the regulars)
// order far more often than high ones.
func (g *Generator) customer() int {
	u := g.rng.float()
	return min(int(float64(g.cfg.Keys)*u*u), g.cfg.Keys-1)
}

// fillLines gives p one to five distinct catalogue products and the total
// they add up to.
func (g *Generator) fillLines(p *order.Placed) {
	n := 1 + g.rng.weighted(lineCountWeights)
	var used [8]int // at most five lines: a slice beats a map here
	p.Lines = make([]order.Line, 0, n)
	for len(p.Lines) < n {
		i := g.rng.intn(len(catalogue))
		if slices.Contains(used[:len(p.Lines)], i) {
			continue
		}
		used[len(p.Lines)] = i
		p.Lines = append(p.Lines, order.Line{
			SKU:            catalogue[i].sku,
			Quantity:       int32(1 + g.rng.weighted(quantityWeights)),
			UnitPriceCents: localPrice(catalogue[i].usdCents, p.Currency),
		})
	}
	p.TotalCents = sum(p.Lines)
}

// fillRisky makes p look like card fraud: the same gift card over and over
// in large round amounts, shipped to a market the customer does not live
// in, paid in US dollars, through the api channel.
func (g *Generator) fillRisky(p *order.Placed) {
	p.Channel = "api"
	p.Currency = "USD"
	p.ShippingCountry = riskyCountries[g.rng.intn(len(riskyCountries))]
	card := giftCards[g.rng.intn(len(giftCards))]
	for range 2 + g.rng.intn(3) {
		p.Lines = append(p.Lines, order.Line{
			SKU:            card.sku,
			Quantity:       int32(5 + g.rng.intn(16)),
			UnitPriceCents: card.usdCents,
		})
	}
	p.TotalCents = sum(p.Lines)
}

// breakRule breaks one business rule that package validate checks.
func (g *Generator) breakRule(p *order.Placed) {
	switch g.rng.intn(3) {
	case 0: // a cart bug: a line with a non-positive quantity
		l := &p.Lines[g.rng.intn(len(p.Lines))]
		l.Quantity = -l.Quantity + int32(g.rng.intn(2)) // -q or 1-q: negative or zero
		p.TotalCents = sum(p.Lines)
	case 1: // a currency the shop does not take
		p.Currency = unknownCurrencies[g.rng.intn(len(unknownCurrencies))]
	default: // a total that does not add up, e.g. a discount applied twice
		off := int64(1 + g.rng.intn(500))
		if g.rng.intn(2) == 0 && p.TotalCents > off {
			off = -off
		}
		p.TotalCents += off
	}
}

// customerID formats n as "c-%05d" without fmt, which costs more than the
// rest of an order on the generator's hot path.
func customerID(n int) string {
	d := strconv.Itoa(n)
	if len(d) < 5 {
		d = "00000"[len(d):] + d
	}
	return "c-" + d
}

func sum(lines []order.Line) int64 {
	var s int64
	for _, l := range lines {
		s += int64(l.Quantity) * l.UnitPriceCents
	}
	return s
}

// source is the generator's randomness: a PCG stream and a few draws built
// on Uint64 only, so the sequence is fixed by this file, not by the
// algorithms behind math/rand/v2's helpers.
type source struct{ pcg *rand.PCG }

func newSource(seed int64, stream uint64) source {
	return source{rand.NewPCG(uint64(seed), stream)}
}

// float returns a uniform float64 in [0, 1).
func (s source) float() float64 { return float64(s.pcg.Uint64()>>11) / (1 << 53) }

// intn returns an int in [0, n); the modulo bias is negligible for the
// small n used here.
func (s source) intn(n int) int { return int(s.pcg.Uint64() % uint64(n)) }

// weighted returns index i with probability weights[i] / sum(weights).
func (s source) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := s.intn(total)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}
