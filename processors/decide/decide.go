// Package decide makes the final call on a scored order: reject it when the
// fraud risk or the amount is too high, confirm it otherwise. Like validate's
// rejections, a rejection here is an outcome written to orders.decided and
// order-status, not an error.
package decide

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// Stage is how decide signs the statuses and decisions it writes.
const Stage = "decide"

// Defaults for Policy.
const (
	DefaultThreshold = 0.85
	// DefaultLimitCents applies to every currency without an entry in
	// Policy.Limits: 10,000.00 in the currency's main unit (¥1,000,000 for
	// JPY, which has no minor unit, so JPY wants its own entry).
	DefaultLimitCents = 1_000_000
)

// Policy holds the decision rules' parameters. The zero Policy means the
// defaults.
type Policy struct {
	// Threshold is the risk score at or above which an order is rejected as
	// fraud. Zero means DefaultThreshold.
	Threshold float64
	// Limits is the largest total_cents accepted, per ISO 4217 currency.
	Limits map[string]int64
	// DefaultLimit applies to currencies not in Limits. Zero means
	// DefaultLimitCents.
	DefaultLimit int64
}

func (p Policy) threshold() float64 {
	if p.Threshold == 0 {
		return DefaultThreshold
	}
	return p.Threshold
}

func (p Policy) limit(currency string) int64 {
	if l, ok := p.Limits[currency]; ok {
		return l
	}
	if p.DefaultLimit == 0 {
		return DefaultLimitCents
	}
	return p.DefaultLimit
}

// Decide applies the policy to a scored order. Fraud risk is checked first:
// an order that is both risky and large is reported as risky, the reason a
// human reviewer most needs to see. now stamps decided_at.
func Decide(s order.Scored, p Policy, now time.Time) order.Decided {
	d := order.Decided{
		OrderID:    s.OrderID,
		CustomerID: s.CustomerID,
		Decision:   order.DecisionConfirmed,
		Stage:      Stage,
		RiskScore:  &s.RiskScore,
		TotalCents: s.TotalCents,
		Currency:   s.Currency,
		PlacedAt:   s.PlacedAt,
		DecidedAt:  now,
	}
	if t := p.threshold(); s.RiskScore >= t {
		d.Decision = order.DecisionRejected
		d.Reason = fmt.Sprintf("fraud risk %.2f >= %.2f", s.RiskScore, t)
	} else if l := p.limit(s.Currency); s.TotalCents > l {
		d.Decision = order.DecisionRejected
		d.Reason = fmt.Sprintf("amount over limit: %d > %d %s cents", s.TotalCents, l, s.Currency)
	}
	return d
}
