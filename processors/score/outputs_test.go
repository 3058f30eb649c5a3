package score_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/score"
)

func TestOutputs(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)
	v := order.Validated{Placed: order.Placed{
		OrderID: "o-1", CustomerID: "c-1", PlacedAt: at.Add(-time.Minute), Currency: "EUR",
		Lines:      []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}, {SKU: "tea", Quantity: 1, UnitPriceCents: 0}},
		TotalCents: 2500, ShippingCountry: "DE", Channel: "mobile",
	}, ValidatedAt: at}
	model := score.NewModel(1, 50, 4)
	scored := order.Scored{
		OrderID: "o-1", CustomerID: "c-1", PlacedAt: v.PlacedAt, Currency: "EUR", TotalCents: 2500, LineCount: 2,
		ShippingCountry: "DE", Channel: "mobile", RiskScore: model.Score(score.FeaturesOf(v)), ModelVersion: "gbt-s1-t50-d4", ScoredAt: at,
	}
	status := order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at, Rank: order.RankScored}
	tests := []struct {
		name   string
		topics score.Topics
		want   []order.Message
	}{
		// The status comes first, so decide never sees the order before it.
		{"default topics", score.Topics{}, []order.Message{
			{Topic: "order-status", Key: []byte("o-1"), Value: status},
			{Topic: "orders.scored", Key: []byte("o-1"), Value: scored},
		}},
		{"configured topics", score.Topics{Scored: "sc", Status: "st"}, []order.Message{
			{Topic: "st", Key: []byte("o-1"), Value: status},
			{Topic: "sc", Key: []byte("o-1"), Value: scored},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := score.Outputs(v, model, tt.topics, at); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Outputs:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
