package offsets

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/pipeline/offsetmeta"
)

func TestMetadataNamesTheFinishedOffsetsAboveTheWatermark(t *testing.T) {
	w := NewWindow()
	if w.MetadataLen() != 0 || len(w.AppendMetadata(nil)) != 0 {
		t.Fatal("a window with nothing started has metadata")
	}
	for o := int64(1000); o < 1100; o++ {
		mustStart(t, w, o)
	}
	for o := int64(1001); o < 1100; o++ {
		mustFinish(t, w, o)
	}
	// 1000 in two digits padded to the three that 1100 needs, an
	// unfinished run of 1 and a finished run of 99.
	if got := string(w.AppendMetadata(nil)); got != "sl1:o_AAiD" {
		t.Fatalf("metadata %q, want %q", got, "sl1:o_AAiD")
	}
	mustFinish(t, w, 1000)
	if got := string(w.AppendMetadata(nil)); got != "sl1:siB" {
		t.Fatalf("all finished: metadata %q, want the watermark 1100 alone", got)
	}
}

// TestMetadataCountsGapsWithTheOffsetAfterThem: offsets that were never
// started (compacted away, transaction markers) join the run of the started
// offset after them, so they cost nothing.
func TestMetadataCountsGapsWithTheOffsetAfterThem(t *testing.T) {
	w := NewWindow()
	for _, o := range []int64{10, 12, 15, 20, 21} {
		mustStart(t, w, o)
	}
	mustFinish(t, w, 12)
	mustFinish(t, w, 20)
	// 10 unfinished, 11–12 finished, 13–15 not, 16–20 finished; 21 trails.
	if got, want := string(w.AppendMetadata(nil)), "sl1:KABCE"; got != want {
		t.Fatalf("metadata %q, want %q", got, want)
	}
	s, err := offsetmeta.Decode(string(w.AppendMetadata(nil)), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := members(s, 0, 30), []int64{11, 12, 16, 17, 18, 19, 20}; !slices.Equal(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
}

// TestMetadataProperty starts offsets with random gaps and finishes them in
// random orders, near the order they started in as the scheduler runs them
// and fully shuffled, interleaved with more starts. After every step the
// metadata must decode to exactly the finished started offsets above the
// watermark, its length must be what MetadataLen said (and what
// MetadataLenIfFinished predicted), and finishing the watermark must not
// lengthen it.
func TestMetadataProperty(t *testing.T) {
	for seed := int64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewSource(seed))
		m := newModel(rng.Int63n(1 << uint(rng.Intn(40))))
		spread := 1 + rng.Intn(64)
		if seed%3 == 0 {
			spread = 1 << 30 // any order
		}
		var running []int64
		for step := 0; step < 1500; step++ {
			if rng.Intn(3) > 0 || len(running) == 0 {
				gap := int64(0)
				if rng.Intn(4) == 0 {
					gap = int64(rng.Intn(1 << uint(rng.Intn(14))))
				}
				running = append(running, m.start(t, gap))
			} else {
				k := rng.Intn(min(spread, len(running)))
				m.finish(t, running[k])
				running = slices.Delete(running, k, k+1)
			}
			m.check(t, seed, step)
		}
		for len(running) > 0 {
			k := rng.Intn(len(running))
			m.finish(t, running[k])
			running = slices.Delete(running, k, k+1)
			m.check(t, seed, -1)
		}
	}
}

func FuzzMetadata(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 1, 2, 0, 9, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newModel(5)
		var running []int64
		for _, op := range ops {
			if op&1 == 0 || len(running) == 0 {
				running = append(running, m.start(t, int64(op>>5)))
			} else {
				k := int(op>>1) % len(running)
				m.finish(t, running[k])
				running = slices.Delete(running, k, k+1)
			}
			m.check(t, 0, 0)
		}
	})
}

// model drives a Window and keeps, beside it, the plain truth to check it
// against.
type model struct {
	w        *Window
	next     int64
	started  []int64
	finished map[int64]bool
}

func newModel(first int64) *model {
	return &model{w: NewWindow(), next: first, finished: map[int64]bool{}}
}

func (m *model) start(t *testing.T, gap int64) int64 {
	t.Helper()
	o := m.next + gap
	before := m.w.MetadataLen()
	mustStart(t, m.w, o)
	// Only the padding of the watermark to the next offset's digits may
	// change.
	want := before - offsetmeta.WatermarkLen(m.next) + offsetmeta.WatermarkLen(o+1)
	if len(m.started) == 0 {
		want = offsetmeta.WatermarkLen(o + 1)
	}
	if got := m.w.MetadataLen(); got != want {
		t.Fatalf("starting %d changed the metadata length from %d to %d, want %d", o, before, got, want)
	}
	m.started = append(m.started, o)
	m.next = o + 1
	return o
}

func (m *model) finish(t *testing.T, o int64) {
	t.Helper()
	predicted, err := m.w.MetadataLenIfFinished(o)
	if err != nil {
		t.Fatal(err)
	}
	wm, _ := m.w.Committable()
	before := m.w.MetadataLen()
	mustFinish(t, m.w, o)
	m.finished[o] = true
	if got := m.w.MetadataLen(); got != predicted {
		t.Fatalf("finishing %d: MetadataLenIfFinished said %d, MetadataLen now %d", o, predicted, got)
	}
	if o == wm && m.w.MetadataLen() > before {
		t.Fatalf("finishing the watermark %d lengthened the metadata from %d to %d", o, before, m.w.MetadataLen())
	}
}

func (m *model) check(t *testing.T, seed int64, step int) {
	t.Helper()
	meta := string(m.w.AppendMetadata(nil))
	if len(meta) != m.w.MetadataLen() {
		t.Fatalf("seed %d step %d: metadata %q is %d long, MetadataLen says %d", seed, step, meta, len(meta), m.w.MetadataLen())
	}
	wm, _ := m.w.Committable()
	s, err := offsetmeta.Decode(meta, wm)
	if err != nil {
		t.Fatalf("seed %d step %d: %v", seed, step, err)
	}
	i, _ := slices.BinarySearch(m.started, wm)
	for _, o := range m.started[max(i-1, 0):] {
		if want := o > wm && m.finished[o]; s.Contains(o) != want {
			t.Fatalf("seed %d step %d: watermark %d, metadata %q: Contains(%d) = %v, want %v", seed, step, wm, meta, o, !want, want)
		}
	}
	if s.Contains(m.next) || s.Contains(wm) {
		t.Fatalf("seed %d step %d: metadata %q holds the watermark %d or the next offset %d", seed, step, meta, wm, m.next)
	}
}

func mustStart(t *testing.T, w *Window, o int64) {
	t.Helper()
	if err := w.Start(o); err != nil {
		t.Fatal(err)
	}
}

func mustFinish(t *testing.T, w *Window, o int64) {
	t.Helper()
	if err := w.Finish(o); err != nil {
		t.Fatal(err)
	}
}

func members(s offsetmeta.Set, from, to int64) []int64 {
	var out []int64
	for o := from; o <= to; o++ {
		if s.Contains(o) {
			out = append(out, o)
		}
	}
	return out
}
