package validate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

var now = time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)

func newSerde(t *testing.T) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatalf("new serde: %v", err)
	}
	return s
}

func placed() order.Placed {
	return order.Placed{
		OrderID:         " o-1 ",
		CustomerID:      "c-1",
		PlacedAt:        time.Date(2026, 3, 4, 12, 30, 0, 0, time.UTC),
		Currency:        "eur",
		Lines:           []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}},
		TotalCents:      2500,
		ShippingCountry: "DE",
		Channel:         "web",
	}
}

// run encodes p, feeds it to a validate handler on default topics and
// returns the outputs.
func run(t *testing.T, serde *schemas.Serde, p order.Placed) []pipeline.Output {
	t.Helper()
	ctx := context.Background()
	value, err := order.Encode(ctx, serde, p)
	if err != nil {
		t.Fatal(err)
	}
	h := validate.Handler(serde, validate.Topics{}, func() time.Time { return now })
	outs, err := h(ctx, &pipeline.Record{Topic: order.TopicPlaced, Key: []byte(p.OrderID), Value: value})
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	return outs
}

func checkRouting(t *testing.T, outs []pipeline.Output, topics ...string) {
	t.Helper()
	if len(outs) != len(topics) {
		t.Fatalf("got %d outputs, want %d (%v)", len(outs), len(topics), topics)
	}
	for i, out := range outs {
		if out.Topic != topics[i] || string(out.Key) != "o-1" {
			t.Fatalf("output %d: topic %q key %q, want topic %q key \"o-1\"", i, out.Topic, out.Key, topics[i])
		}
	}
}

func TestHandlerPassesValidOrderOn(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	outs := run(t, serde, placed())
	// The status comes first, so score never sees the order before it.
	checkRouting(t, outs, "order-status", "orders.validated")

	v, err := order.DecodeValidated(ctx, serde, outs[1].Value)
	if err != nil {
		t.Fatal(err)
	}
	if v.OrderID != "o-1" || v.Currency != "EUR" || !v.ValidatedAt.Equal(now) {
		t.Fatalf("validated order = %+v, want normalized o-1 in EUR validated at %v", v, now)
	}
	s, err := order.DecodeStatus(ctx, serde, outs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	want := order.Status{OrderID: "o-1", State: order.StateValidated, Stage: "validate", ChangedAt: now}
	if s != want {
		t.Fatalf("status = %+v, want %+v", s, want)
	}
}

func TestHandlerRejectsBrokenOrder(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	p := placed()
	p.TotalCents = 99
	outs := run(t, serde, p)
	checkRouting(t, outs, "orders.decided", "order-status")

	const reason = "lines sum to 2500 cents but total_cents is 99"
	d, err := order.DecodeDecided(ctx, serde, outs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != order.DecisionRejected || d.Reason != reason || d.Stage != "validate" ||
		d.RiskScore != nil || d.TotalCents != 99 || d.Currency != "EUR" || !d.DecidedAt.Equal(now) {
		t.Fatalf("decision = %+v, want REJECTED by validate for %q", d, reason)
	}
	s, err := order.DecodeStatus(ctx, serde, outs[1].Value)
	if err != nil {
		t.Fatal(err)
	}
	want := order.Status{OrderID: "o-1", State: order.StateRejected, Reason: reason, Stage: "validate", ChangedAt: now}
	if s != want {
		t.Fatalf("status = %+v, want %+v", s, want)
	}
}

func TestHandlerWritesNoStatusWithoutOrderID(t *testing.T) {
	serde := newSerde(t)
	p := placed()
	p.OrderID = " "
	outs := run(t, serde, p)
	if len(outs) != 1 || outs[0].Topic != "orders.decided" {
		t.Fatalf("got outputs %v, want only the rejection on orders.decided", outs)
	}
}

func TestHandlerUsesConfiguredTopics(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	value, err := order.Encode(ctx, serde, placed())
	if err != nil {
		t.Fatal(err)
	}
	h := validate.Handler(serde, validate.Topics{Validated: "v", Status: "s"}, time.Now)
	outs, err := h(ctx, &pipeline.Record{Value: value})
	if err != nil {
		t.Fatal(err)
	}
	checkRouting(t, outs, "s", "v")
}

func TestHandlerFailsOnUndecodableRecord(t *testing.T) {
	serde := newSerde(t)
	h := validate.Handler(serde, validate.Topics{}, time.Now)
	_, err := h(context.Background(), &pipeline.Record{Topic: "orders", Value: []byte(`{"order_id":"o-1"}`)})
	if !errors.Is(err, schemas.ErrNotAvro) {
		t.Fatalf("handler error = %v, want one wrapping schemas.ErrNotAvro", err)
	}
}
