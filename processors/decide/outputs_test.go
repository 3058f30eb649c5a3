package decide_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
)

func TestOutputs(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 32, 0, 0, time.UTC)
	scored := func(risk float64) order.Scored {
		return order.Scored{
			OrderID: "o-1", CustomerID: "c-1", Currency: "EUR", TotalCents: 2500, LineCount: 1,
			ShippingCountry: "DE", Channel: "web", RiskScore: risk, ModelVersion: "m", PlacedAt: at, ScoredAt: at,
		}
	}
	decided := func(risk float64, d order.Decision, reason string) order.Decided {
		return order.Decided{
			OrderID: "o-1", CustomerID: "c-1", Decision: d, Reason: reason, Stage: "decide",
			RiskScore: &risk, TotalCents: 2500, Currency: "EUR", PlacedAt: at, DecidedAt: at,
		}
	}
	status := func(s order.State, reason string) order.Status {
		return order.Status{OrderID: "o-1", State: s, Reason: reason, Stage: "decide", ChangedAt: at, Rank: order.RankFinal}
	}
	const fraud = "fraud risk 0.91 >= 0.85"
	tests := []struct {
		name   string
		in     order.Scored
		topics decide.Topics
		want   []order.Message
	}{
		// The status comes first: the runtime produces outputs in order.
		{"confirmed", scored(0.10), decide.Topics{}, []order.Message{
			{Topic: "order-status", Key: []byte("o-1"), Value: status(order.StateConfirmed, "")},
			{Topic: "orders.decided", Key: []byte("o-1"), Value: decided(0.10, order.DecisionConfirmed, "")},
		}},
		{"rejected, with the reason in both", scored(0.91), decide.Topics{}, []order.Message{
			{Topic: "order-status", Key: []byte("o-1"), Value: status(order.StateRejected, fraud)},
			{Topic: "orders.decided", Key: []byte("o-1"), Value: decided(0.91, order.DecisionRejected, fraud)},
		}},
		{"configured topics", scored(0.10), decide.Topics{Decided: "d", Status: "s"}, []order.Message{
			{Topic: "s", Key: []byte("o-1"), Value: status(order.StateConfirmed, "")},
			{Topic: "d", Key: []byte("o-1"), Value: decided(0.10, order.DecisionConfirmed, "")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide.Outputs(tt.in, decide.Policy{}, tt.topics, at); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Outputs:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
