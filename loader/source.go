package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/sluice-dev/sluice/schemas"
)

// Record is one record to send.
type Record struct {
	Key, Value []byte
	// Pos is where the record came from; zero for generated records.
	Pos Position
	// Poison marks a generated record that is deliberately not a valid
	// OrderPlaced (ordergen's PoisonRate).
	Poison bool
}

// Source is what Send sends: files or the generator.
type Source interface {
	// Next returns the next record, or io.EOF after the last. It is called
	// from one goroutine.
	Next(ctx context.Context) (Record, error)
	// Progress returns how far the source is, in its own unit (bytes read,
	// records generated, nanoseconds elapsed) out of total; total is 0 when
	// unknown. It is safe to call from any goroutine.
	Progress() (done, total int64)
}

// Files reads rows from input files one after the other, maps and encodes
// them. It implements Source.
type Files struct {
	m         *Mapping
	serde     *schemas.Serde
	inputs    []Input
	fromLine  int
	onInvalid func(*RowError) error

	cur      *rowReader // owned by the goroutine calling Next
	next     int        // index of the next input to open
	doneSize atomic.Int64
	total    int64
	open     atomic.Pointer[rowReader]
}

// NewFiles returns a Source of the rows of inputs, in order. fromLine skips
// the rows of the first input that start before that line (for resuming);
// CSV headers are always read. Each row that cannot be mapped goes to
// onInvalid: a nil return skips it, an error stops the load with it (a bad
// CSV header stops it in any case, as no row of that file can be mapped).
func NewFiles(m *Mapping, serde *schemas.Serde, inputs []Input, fromLine int, onInvalid func(*RowError) error) *Files {
	f := &Files{m: m, serde: serde, inputs: inputs, fromLine: fromLine, onInvalid: onInvalid}
	for _, in := range inputs {
		if st, err := os.Stat(in.Path); err == nil && st.Mode().IsRegular() {
			f.total += st.Size()
		}
	}
	return f
}

// Next implements Source.
func (f *Files) Next(ctx context.Context) (Record, error) {
	for {
		if f.cur == nil {
			if f.next == len(f.inputs) {
				return Record{}, io.EOF
			}
			from := 1
			if f.next == 0 {
				from = f.fromLine
			}
			r, err := openRows(f.inputs[f.next], f.next, f.m, from)
			f.next++
			if err != nil {
				return Record{}, err
			}
			f.cur = r
			f.open.Store(r)
		}
		pos, row, bad, err := f.cur.next()
		if errors.Is(err, io.EOF) {
			f.doneSize.Add(f.cur.used.Load())
			f.open.Store(nil)
			f.cur.close()
			f.cur = nil
			continue
		}
		if err != nil {
			return Record{}, fmt.Errorf("read %s: %w", f.cur.in.name(), err)
		}
		if bad != nil {
			if err := f.onInvalid(bad); err != nil {
				return Record{}, err
			}
			continue
		}
		value, err := f.serde.Encode(ctx, f.m.schema.Name, row.Native)
		if err != nil {
			return Record{}, fmt.Errorf("%s: %w", pos, err)
		}
		return Record{Key: row.Key, Value: value, Pos: pos}, nil
	}
}

// Progress implements Source: bytes read of the inputs' total size.
func (f *Files) Progress() (done, total int64) {
	done = f.doneSize.Load()
	if r := f.open.Load(); r != nil {
		done += r.used.Load()
	}
	return done, f.total
}

// Close closes the file being read, if any.
func (f *Files) Close() error {
	if f.cur != nil {
		err := f.cur.close()
		f.cur = nil
		return err
	}
	return nil
}

// Checked counts what Validate found.
type Checked struct {
	Rows    int64 // rows read, valid or not
	Invalid int64 // rows that cannot be loaded
}

// Validate reads every row of inputs (from fromLine in the first, as
// NewFiles does), maps it and encodes it with the schema's codec, without
// any broker or registry, and reports each row that cannot be loaded to
// bad, in file order. The error is for unreadable files and cancellation
// only; invalid rows are counted. progress, if not nil, is set to the bytes
// read so far.
func Validate(ctx context.Context, m *Mapping, inputs []Input, fromLine int, bad func(*RowError), progress *atomic.Int64) (Checked, error) {
	var c Checked
	var buf []byte
	var before int64
	for i, in := range inputs {
		from := 1
		if i == 0 {
			from = fromLine
		}
		r, err := openRows(in, i, m, from)
		var header *RowError
		if errors.As(err, &header) {
			c.Rows++
			c.Invalid++
			bad(header)
			continue
		}
		if err != nil {
			return c, err
		}
		for {
			if c.Rows%1024 == 0 {
				if err := ctx.Err(); err != nil {
					r.close()
					return c, err
				}
				if progress != nil {
					progress.Store(before + r.used.Load())
				}
			}
			pos, row, rowErr, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.close()
				return c, fmt.Errorf("read %s: %w", in.name(), err)
			}
			c.Rows++
			if rowErr == nil {
				if buf, err = m.schema.Codec.BinaryFromNative(buf[:0], row.Native); err != nil {
					rowErr = &RowError{Pos: pos, Problems: []FieldError{{Problem: "does not encode: " + err.Error()}}}
				}
			}
			if rowErr != nil {
				c.Invalid++
				bad(rowErr)
			}
		}
		before += r.used.Load()
		r.close()
	}
	if progress != nil {
		progress.Store(before)
	}
	return c, nil
}
