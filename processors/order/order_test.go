package order_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

func newSerde(t *testing.T) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatalf("new serde: %v", err)
	}
	return s
}

// at is a millisecond-precision UTC time, all that timestamp-millis keeps.
var at = time.Date(2026, 3, 4, 12, 30, 15, 123_000_000, time.UTC)

func placed() order.Placed {
	return order.Placed{
		OrderID:    "o-1",
		CustomerID: "c-1",
		PlacedAt:   at,
		Currency:   "EUR",
		Lines: []order.Line{
			{SKU: "mug", Quantity: 2, UnitPriceCents: 1250},
			{SKU: "tea", Quantity: 1, UnitPriceCents: 899},
		},
		TotalCents:      3399,
		ShippingCountry: "DE",
		Channel:         "mobile",
	}
}

func TestEventsRoundTripThroughSerde(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	codecs, err := order.NewCodecs(serde)
	if err != nil {
		t.Fatal(err)
	}
	risk := 0.42
	tests := []struct {
		name   string
		event  order.Event
		decode func([]byte) (order.Event, error)
	}{
		{"placed", placed(), func(b []byte) (order.Event, error) { return order.DecodePlaced(ctx, serde, b) }},
		{"validated", order.Validated{Placed: placed(), ValidatedAt: at.Add(time.Second)},
			func(b []byte) (order.Event, error) { return order.DecodeValidated(ctx, serde, b) }},
		{"scored", order.Scored{
			OrderID: "o-1", CustomerID: "c-1", PlacedAt: at, Currency: "EUR", TotalCents: 3399, LineCount: 2,
			ShippingCountry: "DE", Channel: "api", RiskScore: 0.42, ModelVersion: "gbt-s1-t10-d2", ScoredAt: at,
		}, func(b []byte) (order.Event, error) { return order.DecodeScored(ctx, serde, b) }},
		{"decided with risk and reason", order.Decided{
			OrderID: "o-1", CustomerID: "c-1", Decision: order.DecisionRejected, Reason: "fraud risk 0.91 >= 0.85",
			Stage: "decide", RiskScore: &risk, TotalCents: 3399, Currency: "EUR", PlacedAt: at, DecidedAt: at,
		}, func(b []byte) (order.Event, error) { return order.DecodeDecided(ctx, serde, b) }},
		{"decided without risk or reason", order.Decided{
			OrderID: "o-1", CustomerID: "c-1", Decision: order.DecisionConfirmed,
			Stage: "decide", TotalCents: 3399, Currency: "EUR", PlacedAt: at, DecidedAt: at,
		}, func(b []byte) (order.Event, error) { return order.DecodeDecided(ctx, serde, b) }},
		{"status with reason", order.Status{OrderID: "o-1", State: order.StateRejected, Reason: "order has no lines", Stage: "validate", ChangedAt: at, Rank: order.RankFinal},
			func(b []byte) (order.Event, error) { return order.DecodeStatus(ctx, serde, b) }},
		{"status without reason", order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at, Rank: order.RankScored},
			func(b []byte) (order.Event, error) { return order.DecodeStatus(ctx, serde, b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := order.Encode(ctx, serde, tt.event)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := tt.decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.event) {
				t.Fatalf("round trip changed the event:\n got %#v\nwant %#v", got, tt.event)
			}
			// The event codec, every stage's output codec, writes the same
			// bytes and reads back the same event, of the same Go type.
			viaCodec, err := codecs.Event.Encode(ctx, tt.event)
			if err != nil || !bytes.Equal(viaCodec, b) {
				t.Fatalf("Codecs.Event.Encode = %x, %v; want %x", viaCodec, err, b)
			}
			if got, err := codecs.Event.Decode(ctx, b); err != nil || !reflect.DeepEqual(got, tt.event) {
				t.Fatalf("Codecs.Event.Decode = %#v, %v; want %#v", got, err, tt.event)
			}
		})
	}
}

func TestToKeysByOrderID(t *testing.T) {
	m := order.To("orders", placed())
	if m.Topic != "orders" || string(m.Key) != "o-1" || m.Value.Key() == nil {
		t.Fatalf("To = topic %q key %q, want orders, o-1", m.Topic, m.Key)
	}
}

func TestDecodeRejectsAnotherSchema(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	b, err := order.Encode(ctx, serde, order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := order.DecodePlaced(ctx, serde, b); !errors.Is(err, schemas.ErrWrongSchema) {
		t.Fatalf("DecodePlaced(status) error = %v, want schemas.ErrWrongSchema", err)
	}
}

func TestFromNativeNamesTheBadField(t *testing.T) {
	good := placed().Native()
	tests := []struct {
		name      string
		change    func(m map[string]any)
		wantField string
	}{
		{"missing field", func(m map[string]any) { delete(m, "customer_id") }, "customer_id"},
		{"wrong type", func(m map[string]any) { m["total_cents"] = "3399" }, "total_cents"},
		{"int where long", func(m map[string]any) { m["total_cents"] = int32(3399) }, "total_cents"},
		{"bad line", func(m map[string]any) {
			m["lines"] = []any{good["lines"].([]any)[0], map[string]any{"sku": "x", "quantity": int64(1), "unit_price_cents": int64(1)}}
		}, "lines[1].quantity"},
		{"line not a record", func(m map[string]any) { m["lines"] = []any{"mug"} }, "lines[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := placed().Native()
			tt.change(m)
			_, err := order.PlacedFromNative(m)
			var fe *order.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("PlacedFromNative error = %v, want a FieldError for %s", err, tt.wantField)
			}
		})
	}
}

func TestStatusFromNativeChecksTheEnum(t *testing.T) {
	m := order.Status{OrderID: "o-1", State: "LOST", Stage: "x", ChangedAt: at}.Native()
	var fe *order.FieldError
	if _, err := order.StatusFromNative(m); !errors.As(err, &fe) || fe.Field != "status" {
		t.Fatalf("StatusFromNative error = %v, want a FieldError for status", err)
	}
}

func TestDecidedFromNativeWantsWrappedUnion(t *testing.T) {
	m := order.Decided{OrderID: "o-1", Decision: order.DecisionConfirmed, PlacedAt: at, DecidedAt: at}.Native()
	m["reason"] = "bare string"
	var fe *order.FieldError
	if _, err := order.DecidedFromNative(m); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Fatalf("DecidedFromNative error = %v, want a FieldError for reason", err)
	}
}

func TestDecodePlacedReadsV1WithWebChannel(t *testing.T) {
	ctx := context.Background()
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	serde, err := schemas.NewSerde(set)
	if err != nil {
		t.Fatal(err)
	}
	v1 := set.Versions(schemas.OrderPlaced)[0]
	if v1.Version != 1 {
		t.Fatalf("oldest OrderPlaced is v%d, want v1", v1.Version)
	}
	native := placed().Native()
	delete(native, "channel")
	b, err := v1.Codec.SingleFromNative(nil, native)
	if err != nil {
		t.Fatalf("encode v1: %v", err)
	}
	p, err := order.DecodePlaced(ctx, serde, b)
	if err != nil {
		t.Fatalf("DecodePlaced(v1): %v", err)
	}
	want := placed()
	want.Channel = "web"
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("v1 order read as %#v, want %#v", p, want)
	}
}

// TestDecodeErrorsCarryTheirClass: unreadable bytes are poison, so the
// runtime dead-letters them at once instead of retrying them.
func TestDecodeErrorsCarryTheirClass(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("{\"order_id\":1}"), {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		_, err := order.DecodePlaced(context.Background(), newSerde(t), b)
		if err == nil || pipeline.ClassOf(err) != pipeline.Poison {
			t.Errorf("DecodePlaced(%q) = %v (class %v), want a poison error", b, err, pipeline.ClassOf(err))
			continue
		}
		// The message shows in dlq list and the demo: it names the schema
		// once, not once per layer.
		if msg := err.Error(); !strings.HasPrefix(msg, "decode sluice.orders.OrderPlaced: ") || strings.Count(msg, "decode ") != 1 {
			t.Errorf("DecodePlaced(%q) error %q: want it to start with \"decode sluice.orders.OrderPlaced: \" and say decode once", b, msg)
		}
	}
}

// The codecs are what pipeline.Typed decodes stage inputs with: unreadable
// bytes are poison, and a registry that does not answer is retryable, since
// the record itself may be fine.
func TestCodecsClassifyDecodeErrors(t *testing.T) {
	ctx := context.Background()
	codecs, err := order.NewCodecs(newSerde(t))
	if err != nil {
		t.Fatal(err)
	}
	status, err := order.Encode(ctx, newSerde(t), order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: every registry call fails at once.
	rc, err := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	withRegistry, err := schemas.NewSerde(set, schemas.WithRegistry(rc))
	if err != nil {
		t.Fatal(err)
	}
	registryCodecs, err := order.NewCodecs(withRegistry)
	if err != nil {
		t.Fatal(err)
	}
	confluentFramed := []byte{0, 0, 0, 0, 7, 2, 'o'} // schema ID 7

	tests := []struct {
		name  string
		codec pipeline.Codec[order.Placed]
		in    []byte
		want  pipeline.Class
	}{
		{"JSON", codecs.Placed, []byte(`{"order_id":"o-1"}`), pipeline.Poison},
		{"another record", codecs.Placed, status, pipeline.Poison},
		{"truncated", codecs.Placed, status[:len(status)-2], pipeline.Poison},
		{"registry unreachable", registryCodecs.Placed, confluentFramed, pipeline.Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.codec.Decode(ctx, tt.in)
			if err == nil || pipeline.ClassOf(err) != tt.want {
				t.Fatalf("Decode = %v (class %v), want a %v error", err, pipeline.ClassOf(err), tt.want)
			}
		})
	}
	if _, err := codecs.Event.Decode(ctx, []byte("nope")); pipeline.ClassOf(err) != pipeline.Poison {
		t.Fatalf("Codecs.Event.Decode(garbage) = %v, want a poison error", err)
	}
}

func TestStateRanksFollowThePipeline(t *testing.T) {
	states := []order.State{order.StateAccepted, order.StateValidated, order.StateScored, order.StateConfirmed}
	for i := 1; i < len(states); i++ {
		if states[i-1].Rank() >= states[i].Rank() {
			t.Errorf("%s rank %d is not below %s rank %d", states[i-1], states[i-1].Rank(), states[i], states[i].Rank())
		}
	}
	if order.StateRejected.Rank() != order.StateConfirmed.Rank() || order.StateConfirmed.Rank() != order.RankFinal {
		t.Errorf("REJECTED rank %d, CONFIRMED rank %d: want both final (%d)", order.StateRejected.Rank(), order.StateConfirmed.Rank(), order.RankFinal)
	}
	if r := order.State("LOST").Rank(); r != 0 {
		t.Errorf("unknown state rank %d, want 0", r)
	}
}

// A status written with OrderStatus v1 (no rank) still reads, with Rank 0,
// and is ordered by the rank of its state.
func TestDecodeStatusReadsV1WithoutRank(t *testing.T) {
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	v1 := set.Versions(schemas.OrderStatus)[0]
	if v1.Version != 1 {
		t.Fatalf("oldest OrderStatus is v%d, want v1", v1.Version)
	}
	native := order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at}.Native()
	delete(native, "rank")
	b, err := v1.Codec.SingleFromNative(nil, native)
	if err != nil {
		t.Fatalf("encode v1: %v", err)
	}
	s, err := order.DecodeStatus(context.Background(), newSerde(t), b)
	if err != nil {
		t.Fatalf("DecodeStatus(v1): %v", err)
	}
	if want := (order.Status{OrderID: "o-1", State: order.StateScored, Stage: "score", ChangedAt: at}); s != want {
		t.Fatalf("v1 status read as %+v, want %+v", s, want)
	}
	if s.EffectiveRank() != order.RankScored {
		t.Fatalf("EffectiveRank of a v1 SCORED = %d, want %d", s.EffectiveRank(), order.RankScored)
	}
	if r := (order.Status{State: order.StateScored, Rank: 9}).EffectiveRank(); r != 9 {
		t.Fatalf("EffectiveRank with a stated rank = %d, want the stated 9", r)
	}
}

// TestTruncatedOrderErrorReadsOnce is the poison error of the demo and the
// dlq list: an OrderPlaced cut inside its order lines. It names the schema
// once, says where in the record decoding stopped, and its counts read as
// English.
func TestTruncatedOrderErrorReadsOnce(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	p := placed()
	full, err := order.Encode(ctx, s, p)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		cut   func([]byte) []byte
		where string
	}{
		// The array header says one line and a single byte follows it.
		{"inside the lines array", func(b []byte) []byte {
			i := linesStart(t, ctx, s, p, b)
			return append(append([]byte{}, b[:i]...), 2, 0x02) // count 1, then one byte
		}, "lines: array block of 1 item needs at least"},
		{"inside a line's SKU", func(b []byte) []byte {
			i := linesStart(t, ctx, s, p, b)
			return append(append([]byte{}, b[:i]...), 2, 20, 'a', 'b') // count 1, a 10-byte SKU with 2 bytes
		}, "lines[0].sku: string length 10 exceeds the 2 bytes remaining"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := order.DecodePlaced(ctx, s, c.cut(full))
			if err == nil {
				t.Fatal("a truncated order decoded")
			}
			msg := err.Error()
			if n := strings.Count(msg, schemas.OrderPlaced); n != 1 {
				t.Errorf("error names %s %d times, want once: %s", schemas.OrderPlaced, n, msg)
			}
			if !strings.Contains(msg, c.where) {
				t.Errorf("error %q does not say %q", msg, c.where)
			}
			if strings.Contains(msg, "1 items") || strings.Contains(msg, " 1 bytes remain") {
				t.Errorf("error %q has a singular count in the plural", msg)
			}
		})
	}
}

// linesStart finds where the order lines start in b, an encoding of p: the
// bytes before are those of p with no lines, minus the empty array's 0.
func linesStart(t *testing.T, ctx context.Context, s *schemas.Serde, p order.Placed, b []byte) int {
	t.Helper()
	empty := p
	empty.Lines = nil
	e, err := order.Encode(ctx, s, empty)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e {
		if i >= len(b) || e[i] != b[i] {
			return i
		}
	}
	return len(e)
}
