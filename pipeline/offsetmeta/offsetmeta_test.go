package offsetmeta

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

func TestEncodeSpecExamples(t *testing.T) {
	for _, c := range []struct {
		w        int64
		finished []int64
		want     string
	}{
		{0, nil, "sl1:A"},
		{31, nil, "sl1:f"},
		{32, nil, "sl1:gB"},
		{1000, nil, "sl1:of"},
		{1000, []int64{1001}, "sl1:ofAA"},
		{1000, seq(1001, 1099), "sl1:ofAiD"},
		// 1000 unfinished, 1001 finished, 1002–1004 not, 1005–1006 finished.
		{1000, []int64{1001, 1005, 1006}, "sl1:ofAACB"},
		// A finished run of a million costs four characters.
		{7, seq(9, 1_000_008), "sl1:HB_xwe"},
		{math.MaxInt64 - 1, nil, "sl1:-___________H"},
	} {
		got, err := Encode(c.w, c.finished)
		if err != nil {
			t.Fatalf("Encode(%d, %d finished): %v", c.w, len(c.finished), err)
		}
		if got != c.want {
			t.Errorf("Encode(%d, %d finished) = %q, want %q", c.w, len(c.finished), got, c.want)
		}
	}
}

func TestEncodeRefusesOffsetsNotAboveTheWatermarkOrNotIncreasing(t *testing.T) {
	for _, c := range []struct {
		w        int64
		finished []int64
	}{
		{-1, nil},
		{10, []int64{10}},
		{10, []int64{9}},
		{10, []int64{12, 12}},
		{10, []int64{13, 12}},
		{10, []int64{math.MaxInt64}},
		{10, []int64{math.MaxInt64, 12}},
	} {
		if s, err := Encode(c.w, c.finished); err == nil {
			t.Errorf("Encode(%d, %v) = %q, want an error", c.w, c.finished, s)
		}
	}
}

// TestDecodeOfMetadataThatIsNotSluicesFindsNothingFinished: what franz-go
// writes by default (the member ID), what admin tools write (nothing) and
// anything else without a "sl<digits>:" prefix is someone else's, and means
// no finished offsets above the committed one, not an error.
func TestDecodeOfMetadataThatIsNotSluicesFindsNothingFinished(t *testing.T) {
	for _, meta := range []string{
		"",
		"kgo-3f7c1b2e-53a1-4d0e-9a1d-2c8b1f7e9a10", // a classic member ID
		"Wq3vUaZkT7mB1yXc0dEfGh",                   // a KIP-848 member ID
		"sl", "sl:", "sl1", "slx1:", "SL1:AA", "sl1x:A", " sl1:AA",
	} {
		s, err := Decode(meta, 5)
		if err != nil {
			t.Errorf("Decode(%q): %v, want no error", meta, err)
		}
		if s.Len() != 0 {
			t.Errorf("Decode(%q) holds %d offsets, want none", meta, s.Len())
		}
	}
}

func TestDecodeRefusesMalformedMetadata(t *testing.T) {
	for _, c := range []struct {
		meta string
		want error
	}{
		{"sl1:", ErrMalformed},                           // no watermark
		{"sl1:g", ErrMalformed},                          // watermark ends inside a number
		{"sl1:A!", ErrMalformed},                         // not a digit
		{"sl1:A A", ErrMalformed},                        // not a digit
		{"sl1:AA", ErrMalformed},                         // unfinished run without a finished one
		{"sl1:AAAB", ErrMalformed},                       // a pair and a half
		{"sl1:" + strings.Repeat("_", 13), ErrMalformed}, // 14 digits and more
		{"sl1:_____________A", ErrMalformed},             // too many digits
		{"sl1:____________P", ErrMalformed},              // 2^63 and more
		{"sl1:-___________HAA", ErrMalformed},            // a run past the largest offset
		{"sl1:AAAAA\x00", ErrMalformed},
		{"sl2:AAA", ErrVersion},
		{"sl10:AAA", ErrVersion},
		{"sl0:", ErrVersion},
	} {
		s, err := Decode(c.meta, 0)
		if !errors.Is(err, c.want) {
			t.Errorf("Decode(%q) error %v, want %v", c.meta, err, c.want)
		}
		if s.Len() != 0 {
			t.Errorf("Decode(%q) holds %d offsets next to an error", c.meta, s.Len())
		}
	}
}

func TestDecodeErrorNamesWhatAndWhere(t *testing.T) {
	_, err := Decode("sl1:ofA!D", 1000)
	if err == nil || !strings.Contains(err.Error(), `"sl1:ofA!D"`) || !strings.Contains(err.Error(), "character 7") || !strings.Contains(err.Error(), `'!'`) {
		t.Fatalf("error %q should quote the metadata and name the bad digit and its position", err)
	}
	long := "sl1:" + strings.Repeat("A", 5000) + "!"
	if _, err := Decode(long, 0); err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for 5 KB of metadata should be short, got %d characters", len(err.Error()))
	}
}

func TestDecodeIgnoresFinishedOffsetsBelowTheCommittedOffset(t *testing.T) {
	meta := mustEncode(t, 100, []int64{101, 102, 103, 110, 111, 200})
	for _, c := range []struct {
		committed int64
		want      []int64
	}{
		{100, []int64{101, 102, 103, 110, 111, 200}},
		{102, []int64{102, 103, 110, 111, 200}}, // the commit moved on
		{104, []int64{110, 111, 200}},
		{111, []int64{111, 200}},
		{201, nil},
		{99, nil}, // moved back (an offset reset): the metadata describes another commit
		{-1, nil},
	} {
		s, err := Decode(meta, c.committed)
		if err != nil {
			t.Fatal(err)
		}
		if got := members(s, 90, 210); !slices.Equal(got, c.want) {
			t.Errorf("committed %d: set %v, want %v", c.committed, got, c.want)
		}
	}
}

func TestAppendWatermarkPadsWithoutChangingTheValue(t *testing.T) {
	for _, c := range []struct{ w, pad int64 }{{0, 0}, {5, 40}, {31, 32}, {1000, 1 << 40}, {7, math.MaxInt64}} {
		b := AppendWatermark(nil, c.w, c.pad)
		if len(b) != WatermarkLen(max(c.w, c.pad)) {
			t.Errorf("AppendWatermark(%d, %d) = %q: length %d, want %d", c.w, c.pad, b, len(b), WatermarkLen(max(c.w, c.pad)))
		}
		b = AppendRun(AppendRun(b, 2), 3)
		s, err := Decode(string(b), c.w)
		if err != nil {
			t.Fatalf("Decode(%q): %v", b, err)
		}
		if got, want := members(s, c.w, c.w+10), []int64{c.w + 2, c.w + 3, c.w + 4}; !slices.Equal(got, want) {
			t.Errorf("padded %q decodes to %v, want %v", b, got, want)
		}
	}
}

func TestRunLenIsTheLengthAppendRunWrites(t *testing.T) {
	for _, n := range []int64{1, 2, 32, 33, 1024, 1025, 32768, 32769, 1 << 40, math.MaxInt64} {
		if got := len(AppendRun(nil, n)); got != RunLen(n) {
			t.Errorf("run of %d: AppendRun writes %d characters, RunLen says %d", n, got, RunLen(n))
		}
	}
}

// TestRoundTripProperty encodes random windows and checks that decoding
// against every committed offset around them gives exactly the finished
// offsets at or above it.
func TestRoundTripProperty(t *testing.T) {
	for seed := int64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		w := rng.Int63n(1 << uint(rng.Intn(62)))
		var finished []int64
		pos := w + 1
		for range rng.Intn(300) {
			pos += int64(rng.Intn(1 << uint(rng.Intn(12))))
			finished = append(finished, pos)
			pos++
		}
		checkRoundTrip(t, w, finished)
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1000), []byte{1, 0, 5, 0, 0, 200})
	f.Add(uint64(0), []byte{})
	f.Add(uint64(math.MaxInt64-5), []byte{2, 1})
	f.Fuzz(func(t *testing.T, w uint64, gaps []byte) {
		wm := int64(w >> 1)
		var finished []int64
		pos := wm + 1
		for _, g := range gaps {
			pos += int64(g)
			if pos < 0 || pos == math.MaxInt64 {
				return
			}
			finished = append(finished, pos)
			pos++
		}
		checkRoundTrip(t, wm, finished)
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("sl1:ofAiD", int64(1000))
	f.Add("sl1:ofAACB", int64(1003))
	f.Add("kgo-1234", int64(0))
	f.Add("sl1:-___________HAA", int64(0))
	f.Fuzz(func(t *testing.T, meta string, committed int64) {
		s, err := Decode(meta, committed)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("Decode(%q): error %v wraps neither ErrMalformed nor ErrVersion", meta, err)
			}
			return
		}
		prev := int64(math.MinInt64)
		for _, sp := range s.spans {
			if sp.from < committed || sp.from >= sp.to || sp.from <= prev {
				t.Fatalf("Decode(%q, %d): span [%d, %d) after %d is out of order or below the committed offset", meta, committed, sp.from, sp.to, prev)
			}
			if !s.Contains(sp.from) || !s.Contains(sp.to-1) || s.Contains(sp.from-1) || s.Contains(sp.to) {
				t.Fatalf("Decode(%q, %d): Contains disagrees with span [%d, %d)", meta, committed, sp.from, sp.to)
			}
			prev = sp.to
		}
		if s.Contains(committed - 1) {
			t.Fatalf("Decode(%q, %d) contains an offset below the committed one", meta, committed)
		}
	})
}

func checkRoundTrip(t *testing.T, w int64, finished []int64) {
	t.Helper()
	meta, err := Encode(w, finished)
	if err != nil {
		t.Fatalf("Encode(%d, %v): %v", w, finished, err)
	}
	end := w + 1
	if len(finished) > 0 {
		end = finished[len(finished)-1] + 1
	}
	is := make(map[int64]bool, len(finished))
	for _, o := range finished {
		is[o] = true
	}
	// Probe the finished offsets, their neighbours and the edges rather
	// than every offset: gaps may be 2^12 wide.
	probes := []int64{w - 1, w, end, end + 1}
	for _, o := range finished {
		probes = append(probes, o-1, o, o+1)
	}
	for _, committed := range []int64{w - 1, w, w + 1, (w + end) / 2, end, end + 1} {
		s, err := Decode(meta, committed)
		if err != nil {
			t.Fatalf("Decode(%q, %d): %v", meta, committed, err)
		}
		var n int64
		for _, o := range finished {
			if o >= committed && committed >= w {
				n++
			}
		}
		if s.Len() != n {
			t.Fatalf("Decode(%q, %d) holds %d offsets, want %d", meta, committed, s.Len(), n)
		}
		for _, o := range probes {
			want := is[o] && o >= committed && committed >= w
			if s.Contains(o) != want {
				t.Fatalf("Decode(%q, %d).Contains(%d) = %v, want %v", meta, committed, o, !want, want)
			}
		}
	}
}

func mustEncode(t *testing.T, w int64, finished []int64) string {
	t.Helper()
	s, err := Encode(w, finished)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func members(s Set, from, to int64) []int64 {
	var out []int64
	for o := from; o <= to; o++ {
		if s.Contains(o) {
			out = append(out, o)
		}
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for o := from; o <= to; o++ {
		out = append(out, o)
	}
	return out
}

// uvarintBase64Len is the length the encoding would have with the runs as
// byte uvarints under base64 (RawURL), the obvious alternative: the size
// benchmark reports it beside the real length.
func uvarintBase64Len(w int64, runs []int64) int {
	n := binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(w))
	for _, r := range runs {
		n += binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(r-1))
	}
	return len(Prefix) + (n*8+5)/6
}

// shapes are windows as a processor leaves them: a watermark and the
// finished offsets above it. BenchmarkEncode reports the length of each.
var shapes = []struct {
	name     string
	finished func(w int64, rng *rand.Rand) []int64
}{
	// One slow record at the watermark and 10,000 finished behind it.
	{"straggler", func(w int64, _ *rand.Rand) []int64 { return seq(w+1, w+10_000) }},
	// 50,000 offsets, one in 100 (or 1,000) still running.
	{"sparse-1in100", every(50_000, 100)},
	{"sparse-1in1000", every(50_000, 1000)},
	// A slow key: 20 records in a row unfinished every 500 offsets.
	{"slow-key-20per500", func(w int64, _ *rand.Rand) []int64 {
		var f []int64
		for o := w + 1; o < w+50_000; o++ {
			if (o-w)%500 >= 20 {
				f = append(f, o)
			}
		}
		return f
	}},
	// 10,000 finished, then 256 offsets that the workers are on, half
	// finished at random: the front of a busy window.
	{"front-256-random", func(w int64, rng *rand.Rand) []int64 {
		f := seq(w+1, w+10_000)
		for o := w + 10_001; o < w+10_257; o++ {
			if rng.Intn(2) == 0 {
				f = append(f, o)
			}
		}
		return f
	}},
	// 1,000 offsets finished at random, half of them.
	{"random-half-1000", func(w int64, rng *rand.Rand) []int64 {
		var f []int64
		for o := w + 1; o <= w+1000; o++ {
			if rng.Intn(2) == 0 {
				f = append(f, o)
			}
		}
		return f
	}},
	// The worst case: finished and unfinished alternate, over 4,000 offsets.
	{"alternating-4000", func(w int64, _ *rand.Rand) []int64 {
		var f []int64
		for o := w + 1; o <= w+4000; o += 2 {
			f = append(f, o)
		}
		return f
	}},
}

func every(n, k int64) func(int64, *rand.Rand) []int64 {
	return func(w int64, _ *rand.Rand) []int64 {
		var f []int64
		for o := w + 1; o < w+n; o++ {
			if (o-w)%k != 0 {
				f = append(f, o)
			}
		}
		return f
	}
}

// BenchmarkEncode reports, per window shape, the length of the metadata
// ("bytes"), the length the byte-uvarint and base64 alternative would have
// ("uvarint64-bytes"), and the span of offsets above the watermark it
// describes.
func BenchmarkEncode(b *testing.B) {
	const w = 123_456_789 // a partition some way in: six digits
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			finished := sh.finished(w, rand.New(rand.NewSource(1)))
			meta, err := Encode(w, finished)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_, _ = Encode(w, finished)
			}
			// After the loop: ResetTimer drops reported metrics.
			b.ReportMetric(float64(len(meta)), "bytes")
			b.ReportMetric(float64(uvarintBase64Len(w, runsOf(w, finished))), "uvarint64-bytes")
			b.ReportMetric(float64(finished[len(finished)-1]-w), "span")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	const w = 123_456_789
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			meta, err := Encode(w, sh.finished(w, rand.New(rand.NewSource(1))))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := Decode(meta, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// runsOf returns the run lengths Encode writes for w and finished.
func runsOf(w int64, finished []int64) []int64 {
	var runs []int64
	pos := w
	for i := 0; i < len(finished); {
		j := i + 1
		for j < len(finished) && finished[j] == finished[j-1]+1 {
			j++
		}
		runs = append(runs, finished[i]-pos, int64(j-i))
		pos = finished[i] + int64(j-i)
		i = j
	}
	return runs
}
