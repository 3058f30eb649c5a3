package work

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench/peers/internal/records"
)

func TestApplyWithoutRoundsReturnsTheInput(t *testing.T) {
	v := records.Value(9)
	if got := Apply(v, 0, 0); !bytes.Equal(got, v) {
		t.Fatalf("Apply(v, 0) = %x, want the input %x", got, v)
	}
}

func TestApplyHashesTheDigestKTimesAfterTheSequenceNumber(t *testing.T) {
	v := records.Value(5)
	d := sha256.Sum256(v)
	d = sha256.Sum256(d[:])
	want := append(append([]byte{}, v[:8]...), d[:]...)
	if got := Apply(v, 2, 0); !bytes.Equal(got, want) {
		t.Fatalf("Apply(v, 2) = %x, want %x", got, want)
	}
}

// The Java handler (java/handler/.../Work.java) must compute the same
// function, or the run's sampled value check fails every Java contender.
// These vectors were printed by the Java side: Work.apply(Records.value(seq), k, 0).
func TestApplyMatchesTheJavaHandler(t *testing.T) {
	for _, c := range []struct {
		seq  int64
		k    int
		java string
	}{
		{7, 3, "0000000000000007a70b0acbd14eff63e5672c0adf0ff271784431ce5b08923bc9ba5701ee5603dd"},
		{1234567, 1000, "000000000012d687a018f1ebe296255184785ee3eb1c17dc2f04bbad70b480ead92d2244b179702e"},
	} {
		if got := hex.EncodeToString(Apply(records.Value(c.seq), c.k, 0)); got != c.java {
			t.Errorf("Apply(Value(%d), %d) = %s, Java gives %s", c.seq, c.k, got, c.java)
		}
	}
}

func TestApplySleeps(t *testing.T) {
	start := time.Now()
	Apply(records.Value(1), 0, 20*time.Millisecond)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("Apply with a 20ms sleep returned after %s", d)
	}
}

func TestCalibrateFindsAKThatCostsAboutTheTarget(t *testing.T) {
	k, per, err := Calibrate(records.Value(42), 200*time.Microsecond, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if k < 1 {
		t.Fatalf("k = %d", k)
	}
	// CPU time, not wall time, so a loaded machine moves it little; the
	// bound is loose on purpose: it catches a unit error, not noise.
	if per < 50*time.Microsecond || per > 800*time.Microsecond {
		t.Fatalf("calibrated k=%d costs %s per call, want about 200µs", k, per)
	}
}
