package schemas

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

var placedAt = time.UnixMilli(1_767_225_600_123).UTC()

// samples holds one record per schema, in the native types Decode returns,
// so a round trip must give back exactly the same value.
func samples() map[string]map[string]any {
	lines := []any{
		map[string]any{"sku": "SKU-1", "quantity": int32(2), "unit_price_cents": int64(1250)},
		map[string]any{"sku": "SKU-2", "quantity": int32(1), "unit_price_cents": int64(999)},
	}
	return map[string]map[string]any{
		OrderPlaced: {
			"order_id": "o-1", "customer_id": "c-1", "placed_at": placedAt, "currency": "EUR",
			"lines": lines, "total_cents": int64(3499), "shipping_country": "DE", "channel": "mobile",
		},
		OrderValidated: {
			"order_id": "o-1", "customer_id": "c-1", "placed_at": placedAt, "currency": "EUR",
			"lines": lines, "total_cents": int64(3499), "shipping_country": "DE", "channel": "web",
			"validated_at": placedAt.Add(time.Second),
		},
		OrderScored: {
			"order_id": "o-1", "customer_id": "c-1", "placed_at": placedAt, "currency": "EUR",
			"total_cents": int64(3499), "line_count": int32(2), "shipping_country": "DE", "channel": "web",
			"risk_score": 0.125, "model_version": "m-7", "scored_at": placedAt.Add(2 * time.Second),
		},
		OrderDecided: {
			"order_id": "o-1", "customer_id": "c-1", "decision": "REJECTED",
			"reason": map[string]any{"string": "risk 0.93 above 0.8"}, "stage": "decide",
			"risk_score": map[string]any{"double": 0.93}, "total_cents": int64(3499), "currency": "EUR",
			"placed_at": placedAt, "decided_at": placedAt.Add(3 * time.Second),
		},
		OrderStatus: {
			"order_id": "o-1", "status": "SCORED", "reason": nil, "stage": "score",
			"changed_at": placedAt.Add(2 * time.Second), "rank": int32(3),
		},
	}
}

// newRegistrySerde returns a Serde in Confluent format backed by an
// in-memory Schema Registry.
func newRegistrySerde(tb testing.TB, set *Set) (*Serde, *srfake.Registry) {
	tb.Helper()
	reg := srfake.New()
	tb.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		tb.Fatalf("sr.NewClient: %v", err)
	}
	serde, err := NewSerde(set, WithRegistry(cl))
	if err != nil {
		tb.Fatalf("NewSerde: %v", err)
	}
	return serde, reg
}

func mustSerde(tb testing.TB, set *Set, opts ...SerdeOption) *Serde {
	tb.Helper()
	s, err := NewSerde(set, opts...)
	if err != nil {
		tb.Fatalf("NewSerde: %v", err)
	}
	return s
}

// encodeVersion writes native with a specific (possibly old) schema version
// in single-object format, as an old producer would.
func encodeVersion(tb testing.TB, s *Schema, native map[string]any) []byte {
	tb.Helper()
	b, err := s.Codec.BinaryFromNative(appendSingleObjectHeader(nil, s.Fingerprint), native)
	if err != nil {
		tb.Fatalf("encode %s: %v", s, err)
	}
	return b
}

func TestRoundTripEverySchemaInEveryFormat(t *testing.T) {
	ctx := context.Background()
	set := mustLoad(t)
	confluent, _ := newRegistrySerde(t, set)
	serdes := map[Format]*Serde{SingleObject: mustSerde(t, set), Confluent: confluent}
	for format, serde := range serdes {
		if serde.Format() != format {
			t.Fatalf("serde format = %v, want %v", serde.Format(), format)
		}
		for name, rec := range samples() {
			t.Run(format.String()+"/"+name, func(t *testing.T) {
				b, err := serde.Encode(ctx, name, rec)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := serde.Decode(ctx, b, name)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !reflect.DeepEqual(got, rec) {
					t.Errorf("Decode(Encode(x)) =\n%#v\nwant\n%#v", got, rec)
				}
				sc, got, err := serde.DecodeAny(ctx, b)
				if err != nil || sc.Name != name || !reflect.DeepEqual(got, rec) {
					t.Errorf("DecodeAny = %v, %#v, %v; want %s and the same record", sc, got, err, name)
				}
				// Encode must accept what Decode returns.
				if again, err := serde.Encode(ctx, name, got); err != nil || string(again) != string(b) {
					t.Errorf("re-Encode of the decoded record = %x, %v; want %x", again, err, b)
				}
			})
		}
	}
}

func TestEncodeFillsDefaultsForOmittedFields(t *testing.T) {
	ctx := context.Background()
	serde := mustSerde(t, mustLoad(t))
	rec := samples()[OrderStatus]
	delete(rec, "reason") // ["null","string"] with default null
	b, err := serde.Encode(ctx, "OrderStatus", rec)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := serde.Decode(ctx, b, OrderStatus)
	if err != nil || got["reason"] != nil {
		t.Fatalf("Decode = %v, %v; want reason nil", got, err)
	}
}

func TestEncodeRejectsBareUnionValue(t *testing.T) {
	serde := mustSerde(t, mustLoad(t))
	rec := samples()[OrderStatus]
	rec["reason"] = "bare string"
	_, err := serde.Encode(context.Background(), OrderStatus, rec)
	if err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("Encode error = %v, want one naming field reason", err)
	}
}

func TestDecodeResolvesOrderPlacedV1ToV2WithDefaultChannel(t *testing.T) {
	set := mustLoad(t)
	v1 := set.Versions(OrderPlaced)[0]
	old := samples()[OrderPlaced]
	delete(old, "channel")
	b := encodeVersion(t, v1, old)

	got, err := mustSerde(t, set).Decode(context.Background(), b, "OrderPlaced")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := samples()[OrderPlaced]
	want["channel"] = "web"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(v1) =\n%#v\nwant\n%#v", got, want)
	}

	sc, raw, err := mustSerde(t, set).DecodeAny(context.Background(), b)
	if err != nil || sc != v1 || raw["channel"] != nil {
		t.Errorf("DecodeAny(v1) = %v, %v, %v; want v1 without channel", sc, raw, err)
	}
}

// widgetSet is a test-only record whose versions exercise the resolver
// beyond what the production schemas need: a removed field, an added field
// with a union default inside a nested record in an array, and a nested
// record in a union.
func widgetSet(t *testing.T, v2 string) *Set {
	t.Helper()
	const v1 = `{"type":"record","name":"Widget","namespace":"t","fields":[
		{"name":"id","type":"string"},
		{"name":"legacy","type":"int"},
		{"name":"parts","type":{"type":"array","items":{"type":"record","name":"Part","fields":[
			{"name":"sku","type":"string"},{"name":"old","type":"boolean"}]}}},
		{"name":"owner","type":["null",{"type":"record","name":"Owner","fields":[{"name":"n","type":"string"},{"name":"gone","type":"long"}]}]}
	]}`
	set, err := loadFS(fstest.MapFS{
		"widget.v1.avsc": {Data: []byte(v1)},
		"widget.v2.avsc": {Data: []byte(v2)},
	})
	if err != nil {
		t.Fatalf("loadFS: %v", err)
	}
	return set
}

func TestDecodeResolvesNestedRecords(t *testing.T) {
	const v2 = `{"type":"record","name":"Widget","namespace":"t","fields":[
		{"name":"id","type":"string"},
		{"name":"parts","type":{"type":"array","items":{"type":"record","name":"Part","fields":[
			{"name":"sku","type":"string"},{"name":"note","type":["null","string"],"default":null},
			{"name":"made","type":{"type":"long","logicalType":"timestamp-millis"},"default":0}]}}},
		{"name":"owner","type":["null",{"type":"record","name":"Owner","fields":[{"name":"n","type":"string"}]}]},
		{"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","BLUE"]},"default":"BLUE"}
	]}`
	set := widgetSet(t, v2)
	b := encodeVersion(t, set.Versions("Widget")[0], map[string]any{
		"id": "w", "legacy": int32(7),
		"parts": []any{map[string]any{"sku": "a", "old": true}},
		"owner": map[string]any{"t.Owner": map[string]any{"n": "ann", "gone": int64(1)}},
	})
	got, err := mustSerde(t, set).Decode(context.Background(), b, "t.Widget")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := map[string]any{
		"id":    "w",
		"parts": []any{map[string]any{"sku": "a", "note": nil, "made": time.UnixMilli(0).UTC()}},
		"owner": map[string]any{"t.Owner": map[string]any{"n": "ann"}},
		"color": "BLUE",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode =\n%#v\nwant\n%#v", got, want)
	}
}

func TestDecodeRejectsAddedFieldWithoutDefault(t *testing.T) {
	const v2 = `{"type":"record","name":"Widget","namespace":"t","fields":[
		{"name":"id","type":"string"},{"name":"size","type":"int"}]}`
	set := widgetSet(t, v2)
	b := encodeVersion(t, set.Versions("Widget")[0], map[string]any{
		"id": "w", "legacy": int32(7), "parts": []any{}, "owner": nil,
	})
	_, err := mustSerde(t, set).Decode(context.Background(), b, "t.Widget")
	if !errors.Is(err, ErrWrongSchema) || !strings.Contains(err.Error(), `t.Widget.size`) {
		t.Fatalf("Decode error = %v, want ErrWrongSchema naming t.Widget.size", err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	set := mustLoad(t)
	serde := mustSerde(t, set)
	placed, err := serde.Encode(ctx, OrderPlaced, samples()[OrderPlaced])
	if err != nil {
		t.Fatal(err)
	}
	status, err := serde.Encode(ctx, OrderStatus, samples()[OrderStatus])
	if err != nil {
		t.Fatal(err)
	}
	unknownFP := append([]byte{0xC3, 0x01}, binary.LittleEndian.AppendUint64(nil, 0x0123456789abcdef)...)
	unknownFP = append(unknownFP, placed[soeHeaderLen:]...)
	// An array header claiming a billion order lines in a short message.
	hugeArray := appendSingleObjectHeader(nil, set.Versions(OrderPlaced)[1].Fingerprint)
	hugeArray = append(hugeArray, 2, 'o', 2, 'c', 0x80, 0x80, 0x80, 0x80, 0x08, 2, 'E')
	hugeArray = binary.AppendVarint(hugeArray, 1_000_000_000) // Avro longs are zig-zag varints, as Go's
	badEnum := appendSingleObjectHeader(nil, set.Versions(OrderStatus)[0].Fingerprint)
	badEnum = append(badEnum, 2, 'o', 40) // enum index 20 of 5

	tests := []struct {
		desc    string
		in      []byte
		name    string
		wantErr error
		wantMsg string
	}{
		{"empty", nil, OrderPlaced, ErrNotAvro, "empty"},
		{"one byte of single-object magic", []byte{0xC3}, OrderPlaced, ErrNotAvro, "followed by nothing"},
		{"one byte of Confluent magic", []byte{0x00}, OrderPlaced, ErrNotAvro, "Confluent header"},
		{"JSON", []byte(`{"order_id":"o-1"}`), OrderPlaced, ErrNotAvro, "first byte 0x7b"},
		{"second magic byte wrong", []byte{0xC3, 0x02, 1, 2, 3, 4, 5, 6, 7, 8}, OrderPlaced, ErrNotAvro, "followed by 0x02"},
		{"header cut short", placed[:6], OrderPlaced, ErrNotAvro, "6 bytes is shorter than the 10-byte"},
		{"unknown fingerprint", unknownFP, OrderPlaced, ErrUnknownSchema, "fingerprint 0x0123456789abcdef"},
		{"Confluent without registry", []byte{0, 0, 0, 0, 42, 2, 'x'}, OrderPlaced, ErrUnknownSchema, "schema ID 42"},
		{"unknown reader name", placed, "sluice.orders.Nope", ErrUnknownSchema, "sluice.orders.Nope"},
		{"truncated body", placed[:len(placed)-3], OrderPlaced, ErrMalformed, "remain"},
		{"header only", placed[:soeHeaderLen], OrderPlaced, ErrMalformed, "(v2, 0 bytes): order_id: "},
		{"trailing bytes", append(slices.Clone(placed), 0, 0), OrderPlaced, ErrMalformed, "2 trailing bytes"},
		{"wrong schema", status, OrderPlaced, ErrWrongSchema, "written as sluice.orders.OrderStatus v2"},
		{"array count beyond input", hugeArray, OrderPlaced, ErrMalformed, "lines: array block of 1000000000 items needs at least"},
		{"enum index out of range", badEnum, OrderStatus, ErrMalformed, "index 20 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := serde.Decode(ctx, tt.in, tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode = %v, %v; want error wrapping %v", got, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q should mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeConfluentUnknownIDIsUnknownSchema(t *testing.T) {
	serde, _ := newRegistrySerde(t, mustLoad(t))
	_, err := serde.Decode(context.Background(), []byte{0, 0, 0, 3, 0xe7, 2, 'x'}, OrderPlaced)
	if !errors.Is(err, ErrUnknownSchema) || !strings.Contains(err.Error(), "schema ID 999") {
		t.Fatalf("Decode error = %v, want ErrUnknownSchema naming schema ID 999", err)
	}
}

// A consumer that has never encoded learns writer schemas from the registry,
// including old versions, and resolves them.
func TestDecodeConfluentFetchesWriterSchemaFromRegistry(t *testing.T) {
	ctx := context.Background()
	set := mustLoad(t)
	consumer, reg := newRegistrySerde(t, set)
	v1 := set.Versions(OrderPlaced)[0]
	id, _, err := reg.RegisterSchema(OrderPlaced, sr.Schema{Schema: v1.Text})
	if err != nil {
		t.Fatalf("RegisterSchema: %v", err)
	}
	old := samples()[OrderPlaced]
	delete(old, "channel")
	b, err := v1.Codec.BinaryFromNative(appendConfluentHeader(nil, id), old)
	if err != nil {
		t.Fatal(err)
	}
	got, err := consumer.Decode(ctx, b, OrderPlaced)
	if err != nil || got["channel"] != "web" {
		t.Fatalf("Decode = %v, %v; want channel web", got, err)
	}
	sc, _, err := consumer.DecodeAny(ctx, b)
	if err != nil || sc != v1 {
		t.Fatalf("DecodeAny schema = %v, %v; want the embedded %s", sc, err, v1)
	}
}

func TestNewSerdeOptions(t *testing.T) {
	set := mustLoad(t)
	if _, err := NewSerde(set, WithFormat(Confluent)); err == nil || !strings.Contains(err.Error(), "WithRegistry") {
		t.Errorf("NewSerde(Confluent without registry) error = %v, want one pointing at WithRegistry", err)
	}
	if _, err := NewSerde(set, WithFormat(Format(9))); err == nil {
		t.Error("NewSerde(Format(9)) succeeded, want an error")
	}
	if s := mustSerde(t, set); s.Format() != SingleObject {
		t.Errorf("default format = %v, want single-object", s.Format())
	}
	cl, _ := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	if s := mustSerde(t, set, WithRegistry(cl), WithFormat(SingleObject)); s.Format() != SingleObject {
		t.Errorf("WithFormat(SingleObject) + WithRegistry format = %v, want single-object", s.Format())
	}
}

// Many goroutines share one Serde; run with -race.
func TestSerdeIsSafeForConcurrentUse(t *testing.T) {
	ctx := context.Background()
	serde, _ := newRegistrySerde(t, mustLoad(t))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 16 {
		wg.Go(func() {
			for name, rec := range samples() {
				b, err := serde.Encode(ctx, name, rec)
				if err == nil {
					_, err = serde.Decode(ctx, b, name)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkDecodeOrderPlaced(b *testing.B) {
	ctx := context.Background()
	serde := mustSerde(b, mustLoad(b))
	msg, err := serde.Encode(ctx, OrderPlaced, samples()[OrderPlaced])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := serde.Decode(ctx, msg, OrderPlaced); err != nil {
			b.Fatal(err)
		}
	}
}
