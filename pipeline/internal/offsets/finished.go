package offsets

import "github.com/sluice-dev/sluice/pipeline/offsetmeta"

// This file gives a Window what precise resume needs: the offsetmeta
// encoding of the finished offsets above the watermark, and its exact length
// kept up to date as records start and finish, so that the runtime can hold
// a partition back before its commit metadata would outgrow the broker's
// limit without encoding anything.
//
// Invariant: MetadataLen() == len(AppendMetadata(nil)) at all times;
// Start leaves it unchanged unless the next offset needs one more digit, and
// finishing the record at the watermark never makes it longer.
//
// The encoding describes offsets, not records: an offset between two started
// ones that never started (compacted away, a transaction marker) counts with
// the started offset after it, so gaps add no runs. Such offsets are never
// delivered, to this owner or the next, so whether the next owner skips them
// does not matter. The runs are those of w.done from head, with the trailing
// run of unfinished records left out: the encoding ends with finished ones.
//
// Each run of records s..e (indices into w.offsets) carries boundary tags,
// span[s] = span[e] = e-s; entries inside a run are stale. A record that
// finishes at a run's end finds the run through its tag. One in the middle
// of a run scans from both sides to the nearer end, so splitting a run costs
// its shorter part, which bounds the scanning to O(log n) per record
// amortized; in practice records finish near the edges of short runs.

// MetadataLen returns the length of the commit metadata AppendMetadata would
// write now, or 0 before any Start. Compare it with the broker's
// offset.metadata.max.bytes (offsetmeta.DefaultMaxLen by default).
func (w *Window) MetadataLen() int {
	if w.next < 0 {
		return 0
	}
	return offsetmeta.WatermarkLen(w.next) + w.runsLen
}

// MetadataLenIfFinished returns what MetadataLen would return after
// Finish(offset), without finishing it, and Finish's error for an offset not
// in flight. It costs what Finish costs.
func (w *Window) MetadataLenIfFinished(offset int64) (int, error) {
	i, err := w.unfinished(offset)
	if err != nil {
		return 0, err
	}
	return offsetmeta.WatermarkLen(w.next) + w.finishRuns(i, false), nil
}

// AppendMetadata appends to dst the offsetmeta encoding of the committable
// offset and the finished offsets above it, to commit beside the offset. It
// writes nothing before any Start.
func (w *Window) AppendMetadata(dst []byte) []byte {
	wm, ok := w.Committable()
	if !ok {
		return dst
	}
	// Padded to the next offset's digits, so that the length does not grow
	// when the watermark does.
	dst = offsetmeta.AppendWatermark(dst, wm, w.next)
	last := len(w.offsets) - 1
	for s := w.head; s <= last; {
		e := s + int(w.span[s])
		if e == last && !w.done[s] {
			break
		}
		dst = offsetmeta.AppendRun(dst, w.runLen(s, e))
		s = e + 1
	}
	return dst
}

// startRun adds the record just appended at the end to the trailing run.
func (w *Window) startRun() {
	n := len(w.offsets) - 1
	w.span = append(w.span, 0)
	if n > w.head && !w.done[n-1] {
		w.tag(n-1-int(w.span[n-1]), n)
	}
}

// finishRuns returns w.runsLen after the unfinished record at index i
// finishes and, if apply, retags the runs for it. The caller sets done[i].
func (w *Window) finishRuns(i int, apply bool) int {
	a, b := w.runOf(i)
	last := len(w.offsets) - 1
	trailing := b == last // the run of i is left out of the encoding
	n := w.runsLen
	if !trailing {
		n -= w.cost(a, b)
	}
	if i == w.head {
		// The watermark moves to the next unfinished record, and what it
		// passes is no longer described.
		switch {
		case b > i: // the rest of its run: the first run from the new watermark
			if !trailing {
				n += offsetmeta.RunLen(w.offsets[b] - w.offsets[i+1] + 1)
			}
			if apply {
				w.tag(i+1, b)
			}
		case b < last: // the finished run after it is passed too
			r := b + 1 + int(w.span[b+1])
			n -= w.cost(b+1, r)
			if r < last {
				// The next unfinished run now starts at the watermark,
				// not after the record before it: the gap between them
				// drops out.
				if e := r + 1 + int(w.span[r+1]); e < last {
					n += offsetmeta.RunLen(w.offsets[e]-w.offsets[r+1]+1) - w.cost(r+1, e)
				}
			}
		}
		return n
	}
	ds, de := i, i // the finished run that i joins
	if a == i {
		ds = i - 1 - int(w.span[i-1])
		n -= w.cost(ds, i-1)
	} else {
		n += w.cost(a, i-1)
	}
	if b == i {
		if !trailing {
			de = i + 1 + int(w.span[i+1])
			n -= w.cost(i+1, de)
		}
	} else if !trailing {
		n += w.cost(i+1, b)
	}
	n += offsetmeta.RunLen(w.offsets[de] - w.from(ds) + 1)
	if apply {
		if a < i {
			w.tag(a, i-1)
		}
		if i < b {
			w.tag(i+1, b)
		}
		w.tag(ds, de)
	}
	return n
}

// runOf returns the first and last index of the run that holds index i.
func (w *Window) runOf(i int) (s, e int) {
	for l, r := i, i; ; l, r = l-1, r+1 {
		if w.starts(l) {
			return l, l + int(w.span[l])
		}
		if w.ends(r) {
			return r - int(w.span[r]), r
		}
	}
}

func (w *Window) starts(i int) bool { return i == w.head || w.done[i-1] != w.done[i] }

func (w *Window) ends(i int) bool { return i == len(w.offsets)-1 || w.done[i+1] != w.done[i] }

func (w *Window) tag(s, e int) { w.span[s], w.span[e] = int32(e-s), int32(e-s) }

// from returns the first offset of a run that starts at index s: the offset
// after the previous record's, or the watermark.
func (w *Window) from(s int) int64 {
	if s == w.head {
		return w.offsets[s]
	}
	return w.offsets[s-1] + 1
}

func (w *Window) runLen(s, e int) int64 { return w.offsets[e] - w.from(s) + 1 }

func (w *Window) cost(s, e int) int { return offsetmeta.RunLen(w.runLen(s, e)) }
