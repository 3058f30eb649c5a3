package decide

import (
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// Topics are the topics decide writes to. An empty field means the default
// from package order: orders.decided and order-status.
type Topics struct {
	Decided string // final outcomes
	Status  string // the compacted order-status topic
}

func (t Topics) withDefaults() Topics {
	if t.Decided == "" {
		t.Decided = order.TopicDecided
	}
	if t.Status == "" {
		t.Status = order.TopicStatus
	}
	return t
}

// Outputs is what decide writes for a scored order, decided with p at at: a
// final CONFIRMED or REJECTED status (with the reason) on t.Status, then the
// OrderDecided on t.Decided, both keyed by the order ID.
func Outputs(s order.Scored, p Policy, t Topics, at time.Time) []order.Message {
	t = t.withDefaults()
	d := Decide(s, p, at)
	state := order.StateConfirmed
	if d.Decision == order.DecisionRejected {
		state = order.StateRejected
	}
	return []order.Message{
		order.To(t.Status, order.Status{
			OrderID: d.OrderID, State: state, Reason: d.Reason, Stage: Stage, ChangedAt: d.DecidedAt, Rank: order.RankFinal,
		}),
		order.To(t.Decided, d),
	}
}
