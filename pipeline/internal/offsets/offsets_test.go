package offsets

import (
	"math/rand"
	"testing"
)

func TestCommitNeverPassesUnfinishedRecord(t *testing.T) {
	w := NewWindow()
	for _, o := range []int64{10, 11, 12, 15} {
		if err := w.Start(o); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		finish int64
		want   int64
	}{
		{11, 10}, // 10 still running: nothing after it may be committed
		{15, 10},
		{10, 12}, // 10 and 11 done: the next unfinished is 12
		{12, 16}, // all done: commit past the last started offset
	}
	for _, s := range steps {
		if err := w.Finish(s.finish); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.Committable(); got != s.want {
			t.Fatalf("after finishing %d: committable %d, want %d", s.finish, got, s.want)
		}
	}
}

func TestBookkeepingErrors(t *testing.T) {
	w := NewWindow()
	if _, ok := w.Committable(); ok {
		t.Fatal("empty window reports something committable")
	}
	if err := w.Start(5); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(4); err == nil {
		t.Fatal("decreasing start accepted")
	}
	if err := w.Finish(6); err == nil {
		t.Fatal("finish of unknown offset accepted")
	}
	if err := w.Finish(5); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(5); err == nil {
		t.Fatal("double finish accepted")
	}
}

// TestWatermarkProperty finishes records of many partitions in random order
// and checks after every step that the committable offset of each partition
// is exactly the first unfinished offset, and reaches the end once all finish.
func TestWatermarkProperty(t *testing.T) {
	for seed := int64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		const parts = 8
		type ref struct {
			w        *Window
			offsets  []int64
			finished map[int64]bool
		}
		ps := make([]*ref, parts)
		type item struct {
			p   int
			off int64
		}
		var all []item
		for p := range ps {
			r := &ref{w: NewWindow(), finished: map[int64]bool{}}
			off := int64(rng.Intn(100))
			for i := 0; i < 200+rng.Intn(2000); i++ {
				off += 1 + int64(rng.Intn(3)) // gaps, as compaction leaves
				r.offsets = append(r.offsets, off)
				if err := r.w.Start(off); err != nil {
					t.Fatal(err)
				}
				all = append(all, item{p, off})
			}
			ps[p] = r
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for _, it := range all {
			r := ps[it.p]
			if err := r.w.Finish(it.off); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			r.finished[it.off] = true
			want := r.offsets[len(r.offsets)-1] + 1
			for _, o := range r.offsets {
				if !r.finished[o] {
					want = o
					break
				}
			}
			if got, _ := r.w.Committable(); got != want {
				t.Fatalf("seed %d partition %d: committable %d, first unfinished %d", seed, it.p, got, want)
			}
		}
		for p, r := range ps {
			got, _ := r.w.Committable()
			if end := r.offsets[len(r.offsets)-1] + 1; got != end {
				t.Fatalf("seed %d partition %d: all finished but committable %d, want end %d", seed, p, got, end)
			}
			if r.w.Pending() != 0 {
				t.Fatalf("seed %d partition %d: %d pending after all finished", seed, p, r.w.Pending())
			}
		}
	}
}

func FuzzWindow(f *testing.F) {
	f.Add([]byte{3, 1, 2, 0})
	f.Fuzz(func(t *testing.T, order []byte) {
		n := len(order)
		w := NewWindow()
		for i := 0; i < n; i++ {
			_ = w.Start(int64(i))
		}
		finished := make([]bool, n)
		for _, b := range order {
			i := int(b) % max(n, 1)
			if n == 0 || finished[i] {
				continue
			}
			if err := w.Finish(int64(i)); err != nil {
				t.Fatal(err)
			}
			finished[i] = true
			got, _ := w.Committable()
			for j := int64(0); j < got; j++ {
				if !finished[j] {
					t.Fatalf("committable %d passes unfinished %d", got, j)
				}
			}
		}
	})
}

// TestGrowKeepsTheWindowAndMakesRoom: Grow compacts what the watermark
// passed and leaves room for n starts without another allocation; the
// window answers as before.
func TestGrowKeepsTheWindowAndMakesRoom(t *testing.T) {
	w := NewWindow()
	for o := int64(0); o < 10; o++ {
		if err := w.Start(o); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []int64{0, 1, 2, 5} {
		if err := w.Finish(o); err != nil {
			t.Fatal(err)
		}
	}
	before := string(w.AppendMetadata(nil))
	w.Grow(1000)
	if got, ok := w.Committable(); !ok || got != 3 {
		t.Fatalf("Committable after Grow = %d, %v; want 3, true", got, ok)
	}
	if got := string(w.AppendMetadata(nil)); got != before {
		t.Fatalf("Metadata after Grow = %q, want %q", got, before)
	}
	if got := w.Pending(); got != 6 {
		t.Fatalf("Pending after Grow = %d, want 6", got)
	}
	caps := [3]int{cap(w.offsets), cap(w.done), cap(w.span)}
	for o := int64(10); o < 1010; o++ {
		if err := w.Start(o); err != nil {
			t.Fatal(err)
		}
	}
	if got := [3]int{cap(w.offsets), cap(w.done), cap(w.span)}; got != caps {
		t.Fatalf("1,000 starts after Grow(1000) reallocated: capacities %v, were %v", got, caps)
	}
	for o := int64(3); o < 1010; o++ {
		if o == 5 {
			continue
		}
		if err := w.Finish(o); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := w.Committable(); got != 1010 {
		t.Fatalf("Committable once all finished = %d, want 1010", got)
	}
}
