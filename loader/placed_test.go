package loader

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/ordergen"
)

// If this fails after a change to order_placed.v*.avsc, update
// appendPlaced: the generator silently falls back to the Serde, about five
// times slower.
func TestFastEncoderWritesTheSerdesBytes(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	enc := newPlacedEncoder(ctx, serde)
	if enc == nil {
		t.Fatal("appendPlaced no longer writes what the Serde writes for the latest OrderPlaced")
	}
	for _, seed := range []int64{1, 42, -7} {
		g := ordergen.New(ordergen.Config{Seed: seed, Keys: 50})
		for range 5000 {
			p := g.Next()
			want, err := order.Encode(ctx, serde, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := enc.appendTo(nil, p); !bytes.Equal(got, want) {
				t.Fatalf("order %s:\n got % x\nwant % x", p.OrderID, got, want)
			}
		}
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	g := NewGenerator(ordergen.Config{Seed: 1}, newSerde(b), 0, 0, nil)
	defer g.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := g.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
