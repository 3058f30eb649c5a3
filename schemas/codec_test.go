package schemas_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/schemas"
)

// placedIDs is a Go type for the OrderPlaced fields this test cares about.
type placedIDs struct {
	OrderID, Channel string
}

func placedToNative(p placedIDs) map[string]any {
	return map[string]any{
		"order_id": p.OrderID, "customer_id": "c-1", "placed_at": time.UnixMilli(0).UTC(), "currency": "EUR",
		"lines": []any{}, "total_cents": int64(0), "shipping_country": "DE", "channel": p.Channel,
	}
}

func placedFromNative(m map[string]any) (placedIDs, error) {
	id, ok1 := m["order_id"].(string)
	ch, ok2 := m["channel"].(string)
	if !ok1 || !ok2 {
		return placedIDs{}, errNotPlaced
	}
	return placedIDs{id, ch}, nil
}

var errNotPlaced = errors.New("order_id or channel is not a string")

func newPlacedCodec(t *testing.T) (*schemas.Serde, *schemas.Codec[placedIDs]) {
	t.Helper()
	serde, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	c, err := schemas.NewCodec(serde, "OrderPlaced", placedToNative, placedFromNative)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return serde, c
}

func TestCodecRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, c := newPlacedCodec(t)
	if c.Name() != schemas.OrderPlaced {
		t.Fatalf("Name() = %q, want the full name %q", c.Name(), schemas.OrderPlaced)
	}
	b, err := c.Encode(ctx, placedIDs{"o-1", "mobile"})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := c.Decode(ctx, b)
	if err != nil || got != (placedIDs{"o-1", "mobile"}) {
		t.Fatalf("Decode = %+v, %v; want o-1 mobile", got, err)
	}
}

// A v1 record (without channel) decodes into T with the v2 default.
func TestCodecDecodesOlderVersions(t *testing.T) {
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	v1 := set.Versions(schemas.OrderPlaced)[0]
	native := placedToNative(placedIDs{OrderID: "o-1"})
	delete(native, "channel")
	b, err := v1.Codec.SingleFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	_, c := newPlacedCodec(t)
	got, err := c.Decode(context.Background(), b)
	if err != nil || got != (placedIDs{"o-1", "web"}) {
		t.Fatalf("Decode(v1) = %+v, %v; want o-1 with the default channel web", got, err)
	}
}

func TestCodecErrors(t *testing.T) {
	ctx := context.Background()
	serde, c := newPlacedCodec(t)
	if _, err := schemas.NewCodec(serde, "OrderShipped", placedToNative, placedFromNative); !errors.Is(err, schemas.ErrUnknownSchema) {
		t.Errorf("NewCodec of an unknown record: %v, want ErrUnknownSchema", err)
	}
	status, err := serde.Encode(ctx, schemas.OrderStatus, map[string]any{
		"order_id": "o-1", "status": "SCORED", "reason": nil, "stage": "score", "changed_at": time.UnixMilli(0).UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(ctx, status); !errors.Is(err, schemas.ErrWrongSchema) {
		t.Errorf("Decode of an OrderStatus: %v, want ErrWrongSchema", err)
	}
	if _, err := c.Decode(ctx, []byte(`{"order_id":"o-1"}`)); !errors.Is(err, schemas.ErrNotAvro) {
		t.Errorf("Decode of JSON: %v, want ErrNotAvro", err)
	}
	refusing, err := schemas.NewCodec(serde, schemas.OrderPlaced, placedToNative, func(map[string]any) (placedIDs, error) {
		return placedIDs{}, errNotPlaced
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode(ctx, placedIDs{"o-1", "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refusing.Decode(ctx, b); !errors.Is(err, schemas.ErrWrongSchema) || !errors.Is(err, errNotPlaced) {
		t.Errorf("Decode refused by fromNative: %v, want ErrWrongSchema wrapping the conversion's error", err)
	}
}
