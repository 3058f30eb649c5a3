package score_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/score"
	"github.com/sluice-dev/sluice/schemas"
)

func TestHandlerScoresValidatedOrder(t *testing.T) {
	ctx := context.Background()
	serde, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)
	v := order.Validated{Placed: order.Placed{
		OrderID: "o-1", CustomerID: "c-1", PlacedAt: now.Add(-time.Minute), Currency: "EUR",
		Lines:      []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}},
		TotalCents: 2500, ShippingCountry: "DE", Channel: "web",
	}, ValidatedAt: now}
	value, err := order.Encode(ctx, serde, v)
	if err != nil {
		t.Fatal(err)
	}
	model := score.NewModel(1, 50, 4)

	outs, err := score.Handler(serde, model, score.Topics{}, func() time.Time { return now })(ctx, &pipeline.Record{Value: value})
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	// The status comes first, so decide never sees the order before it.
	if len(outs) != 2 || outs[0].Topic != "order-status" || outs[1].Topic != "orders.scored" ||
		string(outs[0].Key) != "o-1" || string(outs[1].Key) != "o-1" {
		t.Fatalf("outputs %v, want order-status then orders.scored, keyed o-1", outs)
	}
	s, err := order.DecodeScored(ctx, serde, outs[1].Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := model.Score(score.FeaturesOf(v)); s.RiskScore != want || s.ModelVersion != model.Version() ||
		s.LineCount != 1 || !s.ScoredAt.Equal(now) {
		t.Fatalf("scored = %+v, want risk %v from %s", s, want, model.Version())
	}
	st, err := order.DecodeStatus(ctx, serde, outs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := (order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: now}); st != want {
		t.Fatalf("status = %+v, want %+v", st, want)
	}
}
