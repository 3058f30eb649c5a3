package schedule

// fifo is a queue on a ring buffer that reuses its storage:
// popping from the front of a plain slice and appending at the back
// reallocates over and over, which showed up as a per-record allocation.
type fifo[E any] struct {
	buf  []E // len(buf) is zero or a power of two
	head int // index of the first item
	n    int // items held
}

func (f *fifo[E]) len() int { return f.n }

func (f *fifo[E]) grow() {
	if f.n < len(f.buf) {
		return
	}
	// From one slot: a Queue has tens of thousands of lanes, most of
	// which never hold more than an item or two.
	next := make([]E, max(1, 2*len(f.buf)))
	for i := range f.n {
		next[i] = f.buf[(f.head+i)&(len(f.buf)-1)]
	}
	f.buf, f.head = next, 0
}

// push adds e at the back.
func (f *fifo[E]) push(e E) {
	f.grow()
	f.buf[(f.head+f.n)&(len(f.buf)-1)] = e
	f.n++
}

// peek returns the front item without removing it.
func (f *fifo[E]) peek() E { return f.buf[f.head] }

func (f *fifo[E]) pop() E {
	var zero E
	e := f.buf[f.head]
	f.buf[f.head] = zero // let the item be collected
	f.head = (f.head + 1) & (len(f.buf) - 1)
	f.n--
	return e
}

// filter keeps the items for which keep is true, in order.
func (f *fifo[E]) filter(keep func(E) bool) {
	var zero E
	kept := 0
	for i := range f.n {
		e := f.buf[(f.head+i)&(len(f.buf)-1)]
		f.buf[(f.head+i)&(len(f.buf)-1)] = zero
		if keep(e) {
			f.buf[(f.head+kept)&(len(f.buf)-1)] = e
			kept++
		}
	}
	f.n = kept
}
