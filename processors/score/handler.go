package score

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// Stage is how score signs the statuses it writes.
const Stage = "score"

// Topics are the topics the Handler writes to. An empty field means the
// default from package order: orders.scored and order-status.
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

// Handler reads OrderValidated records, scores them with model and produces
// an OrderScored on t.Scored and a SCORED status on t.Status, both keyed by
// the order ID. A record that does not decode returns a wrapped error. now
// stamps scored_at and changed_at; pass time.Now.
func Handler(serde *schemas.Serde, model *Model, t Topics, now func() time.Time) pipeline.Handler {
	t = t.withDefaults()
	return func(ctx context.Context, rec *pipeline.Record) ([]pipeline.Output, error) {
		v, err := order.DecodeValidated(ctx, serde, rec.Value)
		if err != nil {
			return nil, fmt.Errorf("score %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
		}
		risk := model.Score(FeaturesOf(v))
		at := now()
		// The status goes first: the next stage reads orders.scored only
		// once SCORED is in order-status, so its own status lands after.
		return order.Outputs(ctx, serde,
			order.Routed{Topic: t.Status, Event: order.Status{
				OrderID: v.OrderID, State: order.StateScored, Stage: Stage, ChangedAt: at,
			}},
			order.Routed{Topic: t.Scored, Event: order.Scored{
				OrderID:         v.OrderID,
				CustomerID:      v.CustomerID,
				PlacedAt:        v.PlacedAt,
				Currency:        v.Currency,
				TotalCents:      v.TotalCents,
				LineCount:       int32(len(v.Lines)),
				ShippingCountry: v.ShippingCountry,
				Channel:         v.Channel,
				RiskScore:       risk,
				ModelVersion:    model.Version(),
				ScoredAt:        at,
			}},
		)
	}
}
