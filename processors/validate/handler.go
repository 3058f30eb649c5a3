package validate

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// Stage is how validate signs the statuses and decisions it writes.
const Stage = "validate"

// Topics are the topics the Handler writes to. An empty field means the
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

// Handler reads OrderPlaced records and checks them. A valid order produces
// an OrderValidated on t.Validated and a VALIDATED status; an invalid one
// produces a REJECTED OrderDecided on t.Decided and a REJECTED status, both
// carrying the reason. Every output is keyed by the (trimmed) order ID.
//
// An order rejected for having no order ID gets its OrderDecided but no
// status, because nobody can look up the status of an order without an ID
// and an empty key would collect every such order under one compacted key.
//
// A record that does not decode as an OrderPlaced returns an error wrapping
// the schemas sentinel (schemas.ErrNotAvro, ...), for the runtime to route.
// now stamps validated_at, decided_at and changed_at; pass time.Now.
func Handler(serde *schemas.Serde, t Topics, now func() time.Time) pipeline.Handler {
	t = t.withDefaults()
	return func(ctx context.Context, rec *pipeline.Record) ([]pipeline.Output, error) {
		placed, err := order.DecodePlaced(ctx, serde, rec.Value)
		if err != nil {
			return nil, fmt.Errorf("validate %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
		}
		at := now()
		valid, rej := Check(placed, at)

		if rej == nil {
			// The status goes first: the runtime produces outputs in order,
			// so score sees the order only once VALIDATED is in
			// order-status, and its SCORED can never land before it.
			return order.Outputs(ctx, serde,
				order.Routed{Topic: t.Status, Event: order.Status{
					OrderID: valid.OrderID, State: order.StateValidated, Stage: Stage, ChangedAt: at,
				}},
				order.Routed{Topic: t.Validated, Event: valid})
		}
		p := Normalize(placed)
		events := []order.Routed{{Topic: t.Decided, Event: order.Decided{
			OrderID:    p.OrderID,
			CustomerID: p.CustomerID,
			Decision:   order.DecisionRejected,
			Reason:     rej.Reason,
			Stage:      Stage,
			TotalCents: p.TotalCents,
			Currency:   p.Currency,
			PlacedAt:   p.PlacedAt,
			DecidedAt:  at,
		}}}
		if p.OrderID != "" {
			events = append(events, order.Routed{Topic: t.Status, Event: order.Status{
				OrderID: p.OrderID, State: order.StateRejected, Reason: rej.Reason, Stage: Stage, ChangedAt: at,
			}})
		}
		return order.Outputs(ctx, serde, events...)
	}
}
