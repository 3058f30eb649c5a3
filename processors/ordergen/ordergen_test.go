package ordergen

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/score"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

func newSerde(t testing.TB) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatalf("new serde: %v", err)
	}
	return s
}

func take(g *Generator, n int) []order.Placed {
	out := make([]order.Placed, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func TestSameConfigSameSequence(t *testing.T) {
	cfg := Config{Seed: 7, Keys: 50, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, b := take(New(cfg), 2000), take(New(cfg), 2000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generators with the same Config diverged")
	}
	cfg.Seed = 8
	if c := take(New(cfg), 2000); reflect.DeepEqual(a[1:], c[1:]) {
		t.Fatal("seeds 7 and 8 gave the same orders")
	}
}

func TestSameConfigSameRecords(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	cfg := Config{Seed: 3, PoisonRate: 0.3}
	a, b := New(cfg), New(cfg)
	for i := range 500 {
		ka, va, pa, err := a.NextRecord(ctx, serde)
		if err != nil {
			t.Fatal(err)
		}
		kb, vb, pb, err := b.NextRecord(ctx, serde)
		if err != nil {
			t.Fatal(err)
		}
		if string(ka) != string(kb) || string(va) != string(vb) || pa != pb {
			t.Fatalf("record %d differs between two generators with the same Config", i)
		}
	}
}

func TestOrderIDsAreUniqueAndTimeMovesForward(t *testing.T) {
	orders := take(New(Config{Seed: 42}), 5000)
	seen := make(map[string]bool, len(orders))
	for i, p := range orders {
		if seen[p.OrderID] {
			t.Fatalf("order ID %s repeated", p.OrderID)
		}
		seen[p.OrderID] = true
		if want := "o-42-"; !strings.HasPrefix(p.OrderID, want) {
			t.Fatalf("order ID %s does not start with %s", p.OrderID, want)
		}
		if p.PlacedAt.Location() != time.UTC || !p.PlacedAt.Equal(p.PlacedAt.Truncate(time.Millisecond)) {
			t.Fatalf("%s: placed_at %v is not UTC at millisecond precision", p.OrderID, p.PlacedAt)
		}
		if i > 0 && p.PlacedAt.Before(orders[i-1].PlacedAt) {
			t.Fatalf("%s placed at %v, before the previous order (%v)", p.OrderID, p.PlacedAt, orders[i-1].PlacedAt)
		}
	}
	if span := orders[len(orders)-1].PlacedAt.Sub(orders[0].PlacedAt); span < 18*time.Hour {
		t.Fatalf("5,000 orders span %v, want most of a day so that nights are covered", span)
	}
}

func TestCustomersStayWithinKeys(t *testing.T) {
	customers := map[string]bool{}
	for _, p := range take(New(Config{Seed: 1, Keys: 10}), 1000) {
		customers[p.CustomerID] = true
	}
	if len(customers) != 10 {
		t.Fatalf("1,000 orders over Keys=10 came from %d customers, want 10", len(customers))
	}
}

// TestMixIsRealistic checks the shares the package documents: a few percent
// of orders break a rule, of every kind, and the rest are varied and add up.
func TestMixIsRealistic(t *testing.T) {
	const n = 5000
	now := time.Now()
	currencies, countries, channels := map[string]int{}, map[string]int{}, map[string]int{}
	rejections := map[string]int{}
	invalid := 0
	for _, p := range take(New(Config{Seed: 42}), n) {
		currencies[p.Currency]++
		countries[p.ShippingCountry]++
		channels[p.Channel]++
		if len(p.Lines) < 1 || len(p.Lines) > 5 {
			t.Fatalf("%s has %d lines, want 1 to 5", p.OrderID, len(p.Lines))
		}
		if _, rej := validate.Check(p, now); rej != nil {
			invalid++
			switch r := rej.Reason; {
			case strings.Contains(r, "is not positive"):
				rejections["quantity"]++
			case strings.HasPrefix(r, "unknown currency"):
				rejections["currency"]++
			case strings.HasPrefix(r, "lines sum to"):
				rejections["total"]++
			default:
				t.Fatalf("%s rejected for an unexpected reason: %s", p.OrderID, r)
			}
		}
	}
	if share := float64(invalid) / n; share < 0.02 || share > 0.045 {
		t.Errorf("%.1f%% of orders are invalid, want about %.0f%%", 100*share, 100*InvalidShare)
	}
	for _, kind := range []string{"quantity", "currency", "total"} {
		if rejections[kind] < 20 {
			t.Errorf("only %d orders rejected for their %s, want each kind well represented: %v", rejections[kind], kind, rejections)
		}
	}
	if len(currencies) < 8 || len(countries) < 15 || len(channels) != 3 {
		t.Errorf("not varied enough: %d currencies, %d countries, %d channels", len(currencies), len(countries), len(channels))
	}
}

// TestRiskyOrdersAreMostlyRejected runs the default fraud model over the
// generated orders: the fraud-like ones should mostly be rejected, the
// everyday ones almost never.
func TestRiskyOrdersAreMostlyRejected(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the full-size model")
	}
	model := score.NewModel(score.DefaultSeed, score.DefaultTrees, score.DefaultDepth)
	now := time.Now()
	var risky, riskyRejected, everyday, everydayRejected int
	for _, p := range take(New(Config{Seed: 42}), 5000) {
		v, rej := validate.Check(p, now)
		if rej != nil {
			continue
		}
		s := order.Scored{
			OrderID: v.OrderID, Currency: v.Currency, TotalCents: v.TotalCents,
			RiskScore: model.Score(score.FeaturesOf(v)),
		}
		rejected := decide.Decide(s, decide.Policy{}, now).Decision == order.DecisionRejected
		if strings.HasPrefix(p.Lines[0].SKU, "GIFTCARD-") {
			risky++
			if rejected {
				riskyRejected++
			}
		} else {
			everyday++
			if rejected {
				everydayRejected++
			}
		}
	}
	if share := float64(risky) / 5000; share < 0.01 || share > 0.03 {
		t.Errorf("%.1f%% of orders are fraud-like, want about 1.5%%", 100*share)
	}
	if share := float64(riskyRejected) / float64(risky); share < 0.75 {
		t.Errorf("decide rejected %d of %d fraud-like orders, want most", riskyRejected, risky)
	}
	if share := float64(everydayRejected) / float64(everyday); share > 0.005 {
		t.Errorf("decide rejected %d of %d everyday orders, want almost none", everydayRejected, everyday)
	}
}

func TestNextRecordEncodesTheSequenceAndPoison(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	cfg := Config{Seed: 5, PoisonRate: 0.2}
	g, same := New(cfg), New(cfg)
	const n = 2000
	poisoned := map[error]int{}
	for range n {
		key, value, poison, err := g.NextRecord(ctx, serde)
		if err != nil {
			t.Fatalf("NextRecord: %v", err)
		}
		want := same.Next()
		if string(key) != want.OrderID {
			t.Fatalf("key %q, want the order ID %q", key, want.OrderID)
		}
		got, err := order.DecodePlaced(ctx, serde, value)
		if !poison {
			if err != nil {
				t.Fatalf("%s: not poison but does not decode: %v", key, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s decodes to %+v, want %+v", key, got, want)
			}
			continue
		}
		for _, sentinel := range []error{schemas.ErrNotAvro, schemas.ErrWrongSchema, schemas.ErrMalformed} {
			if errors.Is(err, sentinel) {
				poisoned[sentinel]++
				err = nil
				break
			}
		}
		if err != nil {
			t.Fatalf("%s: poison fails to decode with %v, want a schemas sentinel", key, err)
		}
	}
	total := poisoned[schemas.ErrNotAvro] + poisoned[schemas.ErrWrongSchema] + poisoned[schemas.ErrMalformed]
	if share := float64(total) / n; share < 0.15 || share > 0.25 {
		t.Errorf("%.1f%% poison, want about 20%%", 100*share)
	}
	if len(poisoned) != 3 {
		t.Errorf("poison by decode error: %v, want all three sentinels", poisoned)
	}
}

func TestPoisonRateDoesNotChangeTheOrders(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	clean, poisoned := New(Config{Seed: 9}), New(Config{Seed: 9, PoisonRate: 0.5})
	for range 200 {
		k1, v1, _, _ := clean.NextRecord(ctx, serde)
		k2, v2, poison, _ := poisoned.NextRecord(ctx, serde)
		if string(k1) != string(k2) || (!poison && string(v1) != string(v2)) {
			t.Fatalf("record %s differs with PoisonRate 0.5 and it is not poison", k2)
		}
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Keys: -1}, {PoisonRate: -0.1}, {PoisonRate: 1.5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", cfg)
				}
			}()
			New(cfg)
		}()
	}
}
