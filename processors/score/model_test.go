package score

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// everyday is a domestic web order for two cheap items at lunchtime.
func everyday() order.Validated {
	return order.Validated{Placed: order.Placed{
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
	}}
}

// risky is everything the model was grown to dislike at once.
func risky() order.Validated {
	return order.Validated{Placed: order.Placed{
		OrderID:         "o-2",
		CustomerID:      "c-2",
		PlacedAt:        time.Date(2026, 3, 4, 3, 10, 0, 0, time.UTC),
		Currency:        "USD",
		Lines:           []order.Line{{SKU: "gift-card", Quantity: 1, UnitPriceCents: 500000}},
		TotalCents:      500000,
		ShippingCountry: "ZZ",
		Channel:         "api",
	}}
}

func TestScoreIsDeterministicPerSeed(t *testing.T) {
	f := FeaturesOf(everyday())
	a, b := NewModel(7, 200, 6), NewModel(7, 200, 6)
	if sa, sb := a.Score(f), b.Score(f); sa != sb {
		t.Fatalf("same seed: scores %v and %v differ", sa, sb)
	}
	if a.Version() != b.Version() {
		t.Fatalf("same seed: versions %q and %q differ", a.Version(), b.Version())
	}
	c := NewModel(8, 200, 6)
	if sa, sc := a.Score(f), c.Score(f); sa == sc {
		t.Fatalf("seeds 7 and 8 both score %v; the seed should change the model", sa)
	}
	if a.Version() == c.Version() {
		t.Fatalf("seeds 7 and 8 share version %q", a.Version())
	}
}

func TestScoreIsAProbability(t *testing.T) {
	orders := []order.Validated{everyday(), risky(), {}}
	for _, size := range []struct{ trees, depth int }{{1, 1}, {10, 3}, {500, 6}, {50, 12}} {
		for seed := range int64(5) {
			m := NewModel(seed, size.trees, size.depth)
			for i, o := range orders {
				if s := m.Score(FeaturesOf(o)); !(s >= 0 && s <= 1) {
					t.Errorf("%s: order %d scored %v, want [0, 1]", m.Version(), i, s)
				}
			}
		}
	}
}

func TestDefaultModelSeparatesRiskyFromEveryday(t *testing.T) {
	m := NewModel(DefaultSeed, DefaultTrees, DefaultDepth)
	low, high := m.Score(FeaturesOf(everyday())), m.Score(FeaturesOf(risky()))
	t.Logf("%s: everyday %.3f, risky %.3f", m.Version(), low, high)
	if low >= 0.5 || high < 0.85 {
		t.Fatalf("everyday %.3f, risky %.3f: want everyday < 0.5 and risky >= 0.85 (decide's default threshold)", low, high)
	}
}

func TestVersionNamesSeedAndSize(t *testing.T) {
	if got, want := NewModel(42, 3, 2).Version(), "gbt-s42-t3-d2"; got != want {
		t.Fatalf("Version() = %q, want %q", got, want)
	}
}

func TestNewModelPanicsOnNonsenseSize(t *testing.T) {
	for _, size := range []struct{ trees, depth int }{{0, 6}, {10, 0}, {10, 21}} {
		t.Run(fmt.Sprintf("t%d-d%d", size.trees, size.depth), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewModel did not panic")
				}
			}()
			NewModel(1, size.trees, size.depth)
		})
	}
}

// BenchmarkScore measures one Score at the default size, plus two others to
// show the cost scales with the number of trees.
func BenchmarkScore(b *testing.B) {
	f := FeaturesOf(everyday())
	for _, trees := range []int{DefaultTrees / 10, DefaultTrees, DefaultTrees * 4} {
		m := NewModel(DefaultSeed, trees, DefaultDepth)
		b.Run(m.Version(), func(b *testing.B) {
			for b.Loop() {
				m.Score(f)
			}
		})
	}
}
