package score

import (
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// Stage is how score signs the statuses it writes.
const Stage = "score"

// Topics are the topics score writes to. An empty field means the default
// from package order: orders.scored and order-status.
type Topics struct {
	Scored string // scored orders, for the decide stage
	Status string // the compacted order-status topic
}

func (t Topics) withDefaults() Topics {
	if t.Scored == "" {
		t.Scored = order.TopicScored
	}
	if t.Status == "" {
		t.Status = order.TopicStatus
	}
	return t
}

// Score rates a validated order with model, stamped at.
func Score(v order.Validated, model *Model, at time.Time) order.Scored {
	return order.Scored{
		OrderID:         v.OrderID,
		CustomerID:      v.CustomerID,
		PlacedAt:        v.PlacedAt,
		Currency:        v.Currency,
		TotalCents:      v.TotalCents,
		LineCount:       int32(len(v.Lines)),
		ShippingCountry: v.ShippingCountry,
		Channel:         v.Channel,
		RiskScore:       model.Score(FeaturesOf(v)),
		ModelVersion:    model.Version(),
		ScoredAt:        at,
	}
}

// Outputs is what score writes for a validated order, scored at at: a
// SCORED status on t.Status, then the OrderScored on t.Scored, both keyed by
// the order ID.
func Outputs(v order.Validated, model *Model, t Topics, at time.Time) []order.Message {
	t = t.withDefaults()
	// The status goes first: decide reads orders.scored only once SCORED is
	// in order-status, so its own status lands after.
	return []order.Message{
		order.To(t.Status, order.Status{
			OrderID: v.OrderID, State: order.StateScored, Stage: Stage, ChangedAt: at, Rank: order.RankScored,
		}),
		order.To(t.Scored, Score(v, model, at)),
	}
}
