package validate

import (
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// Stage is how validate signs the statuses and decisions it writes.
const Stage = "validate"

// Topics are the topics validate writes to. An empty field means the
// default from package order: orders.validated, orders.decided and
// order-status.
type Topics struct {
	Validated string // valid orders, for the score stage
	Decided   string // final outcomes: the rejections validate makes
	Status    string // the compacted order-status topic
}

func (t Topics) withDefaults() Topics {
	if t.Validated == "" {
		t.Validated = order.TopicValidated
	}
	if t.Decided == "" {
		t.Decided = order.TopicDecided
	}
	if t.Status == "" {
		t.Status = order.TopicStatus
	}
	return t
}

// Outputs is what validate writes for a placed order, checked at at. A
// valid order becomes a VALIDATED status, then an OrderValidated on
// t.Validated; an invalid one becomes a REJECTED OrderDecided on t.Decided,
// then a REJECTED status, both carrying the reason. Every output is keyed by
// the (trimmed) order ID; statuses carry their rank (order.State.Rank).
//
// An order rejected for having no order ID gets its OrderDecided but no
// status, because nobody can look up the status of an order without an ID
// and an empty key would collect every such order under one compacted key.
func Outputs(p order.Placed, t Topics, at time.Time) []order.Message {
	t = t.withDefaults()
	valid, rej := Check(p, at)
	if rej == nil {
		// The status goes first: the runtime produces outputs in order, so
		// score sees the order only once VALIDATED is in order-status, and
		// its SCORED can never land before it.
		return []order.Message{
			order.To(t.Status, order.Status{
				OrderID: valid.OrderID, State: order.StateValidated, Stage: Stage, ChangedAt: at, Rank: order.RankValidated,
			}),
			order.To(t.Validated, valid),
		}
	}
	p = Normalize(p)
	outs := []order.Message{order.To(t.Decided, order.Decided{
		OrderID:    p.OrderID,
		CustomerID: p.CustomerID,
		Decision:   order.DecisionRejected,
		Reason:     rej.Reason,
		Stage:      Stage,
		TotalCents: p.TotalCents,
		Currency:   p.Currency,
		PlacedAt:   p.PlacedAt,
		DecidedAt:  at,
	})}
	if p.OrderID != "" {
		outs = append(outs, order.To(t.Status, order.Status{
			OrderID: p.OrderID, State: order.StateRejected, Reason: rej.Reason, Stage: Stage, ChangedAt: at, Rank: order.RankFinal,
		}))
	}
	return outs
}
