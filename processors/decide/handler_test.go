package decide_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

func TestHandlerWritesDecisionAndStatus(t *testing.T) {
	ctx := context.Background()
	serde, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 12, 32, 0, 0, time.UTC)
	h := decide.Handler(serde, decide.Policy{}, decide.Topics{}, func() time.Time { return now })

	tests := []struct {
		risk       float64
		wantState  order.State
		wantReason string
	}{
		{0.10, order.StateConfirmed, ""},
		{0.91, order.StateRejected, "fraud risk 0.91 >= 0.85"},
	}
	for _, tt := range tests {
		value, err := order.Encode(ctx, serde, order.Scored{
			OrderID: "o-1", CustomerID: "c-1", Currency: "EUR", TotalCents: 2500, LineCount: 1,
			ShippingCountry: "DE", Channel: "web", RiskScore: tt.risk, ModelVersion: "m", PlacedAt: now, ScoredAt: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := h(ctx, &pipeline.Record{Value: value})
		if err != nil {
			t.Fatalf("risk %v: handler: %v", tt.risk, err)
		}
		// The status comes first: the runtime produces outputs in order.
		if len(outs) != 2 || outs[0].Topic != "order-status" || outs[1].Topic != "orders.decided" ||
			string(outs[0].Key) != "o-1" || string(outs[1].Key) != "o-1" {
			t.Fatalf("risk %v: outputs %v, want order-status then orders.decided, keyed o-1", tt.risk, outs)
		}
		d, err := order.DecodeDecided(ctx, serde, outs[1].Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Decision) != string(tt.wantState) || d.Reason != tt.wantReason || d.Stage != "decide" {
			t.Fatalf("risk %v: decided %+v, want %s %q", tt.risk, d, tt.wantState, tt.wantReason)
		}
		st, err := order.DecodeStatus(ctx, serde, outs[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		if want := (order.Status{OrderID: "o-1", State: tt.wantState, Reason: tt.wantReason, Stage: "decide", ChangedAt: now}); st != want {
			t.Fatalf("risk %v: status %+v, want %+v", tt.risk, st, want)
		}
	}
}
