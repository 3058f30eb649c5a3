package records

import (
	"encoding/hex"
	"testing"
)

func TestSeqReadsBackTheSequenceNumber(t *testing.T) {
	for _, seq := range []int64{0, 1, 999, 1_000_000, 1 << 40} {
		got, err := Seq(Value(seq))
		if err != nil || got != seq {
			t.Errorf("Seq(Value(%d)) = %d, %v", seq, got, err)
		}
	}
}

func TestSeqRefusesAShortValue(t *testing.T) {
	if _, err := Seq([]byte{1, 2, 3}); err == nil {
		t.Fatal("Seq of a 3-byte value: no error")
	}
}

// Printed by the Java side (java/handler/.../Records.java): Records.value(7).
func TestValueMatchesTheJavaFormat(t *testing.T) {
	const java = "0000000000000007e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c"
	if got := hex.EncodeToString(Value(7)); got != java {
		t.Fatalf("Value(7) = %s, Java gives %s", got, java)
	}
}

func TestKeysTakeTurns(t *testing.T) {
	if a, b := string(Key(3, 1000)), string(Key(1003, 1000)); a != b || a != "k3" {
		t.Fatalf("Key(3) = %s, Key(1003) = %s, want both k3", a, b)
	}
}
