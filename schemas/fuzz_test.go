package schemas

import (
	"context"
	"errors"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic or return an error
// outside the four sentinels: every failure must be routable.
func FuzzDecode(f *testing.F) {
	ctx := context.Background()
	set := mustLoad(f)
	serde := mustSerde(f, set)
	for name, rec := range samples() {
		b, err := serde.Encode(ctx, name, rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, name)
	}
	old := samples()[OrderPlaced]
	delete(old, "channel")
	f.Add(encodeVersion(f, set.Versions(OrderPlaced)[0], old), OrderPlaced)
	f.Add([]byte{0, 0, 0, 0, 1, 2}, OrderStatus)
	f.Add([]byte{}, OrderDecided)

	f.Fuzz(func(t *testing.T, b []byte, name string) {
		v, err := serde.Decode(ctx, b, name)
		if err == nil {
			if v == nil {
				t.Fatal("Decode returned nil record and nil error")
			}
			return
		}
		if !errors.Is(err, ErrNotAvro) && !errors.Is(err, ErrUnknownSchema) &&
			!errors.Is(err, ErrWrongSchema) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Decode error %q wraps no sentinel", err)
		}
	})
}
