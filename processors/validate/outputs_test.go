package validate_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/validate"
)

var at = time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)

func placed() order.Placed {
	return order.Placed{
		OrderID:         " o-1 ",
		CustomerID:      "c-1",
		PlacedAt:        time.Date(2026, 3, 4, 12, 30, 0, 0, time.UTC),
		Currency:        "eur",
		Lines:           []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}},
		TotalCents:      2500,
		ShippingCountry: "DE",
		Channel:         "web",
	}
}

func TestOutputs(t *testing.T) {
	normalized := placed()
	normalized.OrderID, normalized.Currency = "o-1", "EUR"
	const reason = "lines sum to 2500 cents but total_cents is 99"
	rejection := order.Decided{
		OrderID: "o-1", CustomerID: "c-1", Decision: order.DecisionRejected, Reason: reason, Stage: "validate",
		TotalCents: 99, Currency: "EUR", PlacedAt: normalized.PlacedAt, DecidedAt: at,
	}
	tests := []struct {
		name   string
		change func(p *order.Placed)
		topics validate.Topics
		want   []order.Message
	}{
		{
			// The status comes first, so score never sees the order before it.
			name: "valid order: VALIDATED, then the normalized order for score",
			want: []order.Message{
				{Topic: "order-status", Key: []byte("o-1"), Value: order.Status{
					OrderID: "o-1", State: order.StateValidated, Stage: "validate", ChangedAt: at, Rank: order.RankValidated}},
				{Topic: "orders.validated", Key: []byte("o-1"), Value: order.Validated{Placed: normalized, ValidatedAt: at}},
			},
		},
		{
			name:   "broken order: a rejection, then a final REJECTED status",
			change: func(p *order.Placed) { p.TotalCents = 99 },
			want: []order.Message{
				{Topic: "orders.decided", Key: []byte("o-1"), Value: rejection},
				{Topic: "order-status", Key: []byte("o-1"), Value: order.Status{
					OrderID: "o-1", State: order.StateRejected, Reason: reason, Stage: "validate", ChangedAt: at, Rank: order.RankFinal}},
			},
		},
		{
			name:   "no order ID: the rejection but no status",
			change: func(p *order.Placed) { p.OrderID = " " },
			want: []order.Message{{Topic: "orders.decided", Key: []byte(""), Value: order.Decided{
				CustomerID: "c-1", Decision: order.DecisionRejected, Reason: "missing order_id", Stage: "validate",
				TotalCents: 2500, Currency: "EUR", PlacedAt: normalized.PlacedAt, DecidedAt: at,
			}}},
		},
		{
			name:   "configured topics",
			topics: validate.Topics{Validated: "v", Status: "s"},
			want: []order.Message{
				{Topic: "s", Key: []byte("o-1"), Value: order.Status{
					OrderID: "o-1", State: order.StateValidated, Stage: "validate", ChangedAt: at, Rank: order.RankValidated}},
				{Topic: "v", Key: []byte("o-1"), Value: order.Validated{Placed: normalized, ValidatedAt: at}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := placed()
			if tt.change != nil {
				tt.change(&p)
			}
			if got := validate.Outputs(p, tt.topics, at); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Outputs:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
