package ordergen

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// poisonKind is how a poison record is broken.
type poisonKind int

const (
	poisonJSON        poisonKind = iota // the order as JSON: schemas.ErrNotAvro
	poisonGarbage                       // random bytes: schemas.ErrNotAvro
	poisonOtherSchema                   // an OrderStatus: schemas.ErrWrongSchema
	poisonTruncated                     // OrderPlaced cut in half: schemas.ErrMalformed

	numPoisonKinds = iota
)

// NextRecord returns the next order of the sequence as a Kafka record: the
// order ID as key and the order encoded with serde as value. With
// probability Config.PoisonRate the value is poison instead, still keyed by
// the order's ID, and poison is true: the order as JSON or random bytes
// (order.DecodePlaced fails with schemas.ErrNotAvro), an OrderStatus
// (schemas.ErrWrongSchema) or the OrderPlaced cut in half
// (schemas.ErrMalformed), the four kinds equally likely.
//
// Every call consumes one order of the sequence, poison or not, so the
// orders NextRecord encodes are those Next would return, and the records are
// the same for the same Config and serde format. err is an encoding failure.
func (g *Generator) NextRecord(ctx context.Context, serde *schemas.Serde) (key, value []byte, poison bool, err error) {
	p := g.Next()
	if g.cfg.PoisonRate > 0 && g.poison.float() < g.cfg.PoisonRate {
		value, err = g.poisonValue(ctx, serde, p, poisonKind(g.poison.intn(numPoisonKinds)))
		return p.Key(), value, true, err
	}
	value, err = order.Encode(ctx, serde, p)
	return p.Key(), value, false, err
}

func (g *Generator) poisonValue(ctx context.Context, serde *schemas.Serde, p order.Placed, kind poisonKind) ([]byte, error) {
	switch kind {
	case poisonJSON:
		return MarshalJSONL(p)
	case poisonGarbage:
		b := make([]byte, 16+g.poison.intn(48))
		for i := range b {
			b[i] = byte(g.poison.intn(256))
		}
		// Neither the single-object (C3 01) nor the Confluent (00) magic, so
		// the bytes are never mistaken for a framed record.
		b[0] = 0xFF
		return b, nil
	case poisonOtherSchema:
		return order.Encode(ctx, serde, order.Status{
			OrderID: p.OrderID, State: order.StateAccepted, Stage: "ordergen", ChangedAt: p.PlacedAt,
		})
	case poisonTruncated:
		b, err := order.Encode(ctx, serde, p)
		if err != nil {
			return nil, err
		}
		// Past the header (at most 10 bytes), so the framing is fine and
		// only the body is short.
		return b[:10+(len(b)-10)/2], nil
	}
	return nil, fmt.Errorf("ordergen: unknown poison kind %d", kind)
}
