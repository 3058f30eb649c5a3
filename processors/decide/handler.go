package decide

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// Topics are the topics the Handler writes to. An empty field means the
// default from package order: orders.decided and order-status.
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

// Handler reads OrderScored records, decides them with p and produces an
// OrderDecided on t.Decided and a CONFIRMED or REJECTED status on t.Status,
// both keyed by the order ID. A record that does not decode returns a
// wrapped error. now stamps decided_at and changed_at; pass time.Now.
func Handler(serde *schemas.Serde, p Policy, t Topics, now func() time.Time) pipeline.Handler {
	t = t.withDefaults()
	return func(ctx context.Context, rec *pipeline.Record) ([]pipeline.Output, error) {
		s, err := order.DecodeScored(ctx, serde, rec.Value)
		if err != nil {
			return nil, fmt.Errorf("decide %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
		}
		d := Decide(s, p, now())
		state := order.StateConfirmed
		if d.Decision == order.DecisionRejected {
			state = order.StateRejected
		}
		return order.Outputs(ctx, serde,
			order.Routed{Topic: t.Status, Event: order.Status{
				OrderID: d.OrderID, State: state, Reason: d.Reason, Stage: Stage, ChangedAt: d.DecidedAt,
			}},
			order.Routed{Topic: t.Decided, Event: d},
		)
	}
}
