package decide

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	scored := func(risk float64, total int64, currency string) order.Scored {
		return order.Scored{OrderID: "o-1", CustomerID: "c-1", Currency: currency, TotalCents: total, RiskScore: risk}
	}
	tests := []struct {
		name       string
		in         order.Scored
		policy     Policy
		want       order.Decision
		wantReason string
	}{
		{"low risk, small amount", scored(0.10, 5_000, "EUR"), Policy{}, order.DecisionConfirmed, ""},
		{"risk just under threshold", scored(0.849, 5_000, "EUR"), Policy{}, order.DecisionConfirmed, ""},
		{"risk at threshold", scored(0.85, 5_000, "EUR"), Policy{}, order.DecisionRejected, "fraud risk 0.85 >= 0.85"},
		{"risk over threshold", scored(0.91, 5_000, "EUR"), Policy{}, order.DecisionRejected, "fraud risk 0.91 >= 0.85"},
		{"custom threshold", scored(0.6, 5_000, "EUR"), Policy{Threshold: 0.5}, order.DecisionRejected, "fraud risk 0.60 >= 0.50"},
		{"amount at default limit", scored(0.1, 1_000_000, "USD"), Policy{}, order.DecisionConfirmed, ""},
		{"amount over default limit", scored(0.1, 1_000_001, "USD"), Policy{}, order.DecisionRejected, "amount over limit: 1000001 > 1000000 USD cents"},
		{"per-currency limit", scored(0.1, 200_000, "JPY"), Policy{Limits: map[string]int64{"JPY": 150_000}}, order.DecisionRejected, "amount over limit: 200000 > 150000 JPY cents"},
		{"other currency keeps default", scored(0.1, 200_000, "EUR"), Policy{Limits: map[string]int64{"JPY": 150_000}}, order.DecisionConfirmed, ""},
		{"custom default limit", scored(0.1, 600, "EUR"), Policy{DefaultLimit: 500}, order.DecisionRejected, "amount over limit: 600 > 500 EUR cents"},
		{"risk wins over amount", scored(0.99, 5_000_000, "EUR"), Policy{}, order.DecisionRejected, "fraud risk 0.99 >= 0.85"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.in, tt.policy, now)
			if d.Decision != tt.want || d.Reason != tt.wantReason {
				t.Fatalf("Decide = %s %q, want %s %q", d.Decision, d.Reason, tt.want, tt.wantReason)
			}
			if d.OrderID != "o-1" || d.Stage != Stage || !d.DecidedAt.Equal(now) ||
				d.RiskScore == nil || *d.RiskScore != tt.in.RiskScore || d.TotalCents != tt.in.TotalCents {
				t.Fatalf("Decide did not carry the order through: %+v", d)
			}
		})
	}
}
