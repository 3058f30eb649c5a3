package schedule

// fifo is a queue on a slice that reuses its storage: popping from the
// front of a plain slice and appending at the back reallocates over and
// over, which showed up as a per-record allocation.
type fifo[E any] struct {
	buf  []E
	head int
}

func (f *fifo[E]) len() int { return len(f.buf) - f.head }

func (f *fifo[E]) push(e E) {
	if f.head > 0 && len(f.buf) == cap(f.buf) && f.head*2 >= len(f.buf) {
		n := copy(f.buf, f.buf[f.head:])
		clear(f.buf[n:])
		f.buf = f.buf[:n]
		f.head = 0
	}
	f.buf = append(f.buf, e)
}

func (f *fifo[E]) pop() E {
	e := f.buf[f.head]
	var zero E
	f.buf[f.head] = zero
	f.head++
	if f.head == len(f.buf) {
		f.buf = f.buf[:0]
		f.head = 0
	}
	return e
}

// filter keeps the items for which keep is true, in order.
func (f *fifo[E]) filter(keep func(E) bool) {
	live := f.buf[f.head:]
	n := 0
	for _, e := range live {
		if keep(e) {
			live[n] = e
			n++
		}
	}
	clear(live[n:])
	f.buf = f.buf[:f.head+n]
	if n == 0 {
		f.buf = f.buf[:0]
		f.head = 0
	}
}
