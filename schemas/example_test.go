package schemas_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/schemas"
)

func ExampleSerde() {
	set, err := schemas.Load()
	if err != nil {
		panic(err)
	}
	serde, err := schemas.NewSerde(set) // single-object format, no registry needed
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	b, err := serde.Encode(ctx, schemas.OrderStatus, map[string]any{
		"order_id":   "o-42",
		"status":     "REJECTED",                                // enum: the symbol
		"reason":     map[string]any{"string": "card declined"}, // union: {"branch": value}
		"stage":      "decide",
		"changed_at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), // timestamp-millis
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("header % x\n", b[:2])

	rec, err := serde.Decode(ctx, b, "OrderStatus")
	if err != nil {
		panic(err)
	}
	fmt.Println(rec["order_id"], rec["status"], rec["reason"], rec["changed_at"])
	// Output:
	// header c3 01
	// o-42 REJECTED map[string:card declined] 2026-01-02 03:04:05 +0000 UTC
}
