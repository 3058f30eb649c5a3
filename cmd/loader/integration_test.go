//go:build integration

package main

import (
	"context"
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/order"
)

// TestIntegrationLoaderAgainstRealKafka loads the CSV sample and a few
// generated orders into a real broker and reads back every field.
func TestIntegrationLoaderAgainstRealKafka(t *testing.T) {
	k := kafkatest.NewKafka(t)
	k.CreateTopic(t, "orders", 3, nil)
	r := loadCLI(t, context.Background(), nil, "--brokers", k.Brokers()[0], testdata+"orders.csv")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = loadCLI(t, context.Background(), nil, "--brokers", k.Brokers()[0], "--count", "1000", "--seed", "3", "--compression", "zstd")
	if r.code != 0 {
		t.Fatalf("generator: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := sourceOrders(t, testdata+"orders.jsonl")
	recs := consume(t, k, "orders")
	if len(recs) != 1200 {
		t.Fatalf("%d records, want 200 loaded and 1000 generated", len(recs))
	}
	for _, rec := range recs {
		got, err := order.DecodePlaced(context.Background(), serde(t), rec.Value)
		if err != nil {
			t.Fatalf("record %s: %v", rec.Key, err)
		}
		if w, ok := want[got.OrderID]; ok && !reflect.DeepEqual(got, w) {
			t.Errorf("order %s:\n got %+v\nwant %+v", got.OrderID, got, w)
		}
	}
}
