package schemas

import (
	"context"
	"encoding/binary"
	"reflect"
	"testing"
)

func TestParseFormatRoundTripsString(t *testing.T) {
	for _, f := range []Format{SingleObject, Confluent} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", f.String(), got, err, f)
		}
	}
	for _, bad := range []string{"", "json", "Confluent", "single_object"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) succeeded, want an error", bad)
		}
	}
	if got := Format(7).String(); got != "Format(7)" {
		t.Errorf("Format(7).String() = %q", got)
	}
}

func TestEncodeWritesTheSpecifiedFraming(t *testing.T) {
	ctx := context.Background()
	set := mustLoad(t)
	latest, _ := set.Latest(OrderStatus)

	b, err := mustSerde(t, set).Encode(ctx, OrderStatus, samples()[OrderStatus])
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xC3 || b[1] != 0x01 || binary.LittleEndian.Uint64(b[2:10]) != latest.Fingerprint {
		t.Errorf("single-object header = % x, want c3 01 + little-endian %#x", b[:10], latest.Fingerprint)
	}

	confluent, reg := newRegistrySerde(t, set)
	b, err = confluent.Encode(ctx, OrderStatus, samples()[OrderStatus])
	if err != nil {
		t.Fatal(err)
	}
	registered, ok := reg.GetSchema(OrderStatus, 1) // subject = record full name
	if !ok {
		t.Fatalf("nothing registered under subject %q", OrderStatus)
	}
	if b[0] != 0x00 || int(binary.BigEndian.Uint32(b[1:5])) != registered.ID {
		t.Errorf("Confluent header = % x, want 00 + big-endian ID %d", b[:5], registered.ID)
	}
}

// goavro's own single-object encoder uses its (non-spec) fingerprint; such
// messages still decode, so a producer using goavro directly interoperates.
func TestDecodeAcceptsGoavroSingleObjectEncoding(t *testing.T) {
	set := mustLoad(t)
	latest, _ := set.Latest(OrderStatus)
	b, err := latest.Codec.SingleFromNative(nil, samples()[OrderStatus])
	if err != nil {
		t.Fatal(err)
	}
	got, err := mustSerde(t, set).Decode(context.Background(), b, OrderStatus)
	if err != nil || !reflect.DeepEqual(got, samples()[OrderStatus]) {
		t.Fatalf("Decode(goavro SingleFromNative) = %v, %v", got, err)
	}
}
