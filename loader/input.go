package loader

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Format is how an input file is written.
type Format int

const (
	// JSONLines is one JSON object per line (.jsonl, .ndjson, .json).
	JSONLines Format = iota
	// CSV is comma-separated values with a header row naming the fields.
	CSV
)

// ParseFormat parses "jsonl" or "csv".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "jsonl", "ndjson", "json":
		return JSONLines, nil
	case "csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("unknown input format %q: want jsonl or csv", s)
}

// FormatOf guesses a file's format from its extension: .csv is CSV, and
// anything else (.jsonl, .ndjson, stdin) JSON Lines.
func FormatOf(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return CSV
	}
	return JSONLines
}

func (f Format) String() string {
	if f == CSV {
		return "csv"
	}
	return "jsonl"
}

// Input is one file to load.
type Input struct {
	// Path is the file to read.
	Path string
	// Name is how messages call the file; Path if empty. A spooled stdin
	// is read from a temporary Path but named "stdin".
	Name   string
	Format Format
}

func (in Input) name() string {
	if in.Name != "" {
		return in.Name
	}
	return in.Path
}

// Position is where a row starts: the file as named in messages, and its
// 1-based line. Input is the file's index in the list being loaded.
type Position struct {
	Input int
	File  string
	Line  int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// RowError is an input row that cannot be loaded, with every problem found
// in it.
type RowError struct {
	Pos      Position
	Problems []FieldError
	// Raw is the row as read (a CSV record re-encoded as one CSV line).
	Raw []byte
}

// Error is one line per problem, each "file:line: problem", as in
// `orders.jsonl:17: field "lines[1].quantity": expected int, got "three"`.
func (e *RowError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.Pos.String() + ": " + p.Error()
	}
	return strings.Join(lines, "\n")
}

// rowReader reads the rows of one input, from fromLine on, and maps them.
// It is owned by one goroutine; only its byte count is read by others.
type rowReader struct {
	in    Input
	index int
	m     *Mapping
	from  int
	file  *os.File
	// used counts the bytes of the rows returned so far, for progress (the
	// buffered reader reads ahead of them).
	used atomic.Int64

	// JSON Lines
	br   *bufio.Reader
	line int
	buf  []byte

	// CSV
	cr     *csv.Reader
	header *CSVHeader
}

// openRows opens in. For CSV it reads the header; a bad header is returned
// as a *RowError, since no row of the file can then be mapped.
func openRows(in Input, index int, m *Mapping, fromLine int) (*rowReader, error) {
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, err
	}
	r := &rowReader{in: in, index: index, m: m, from: fromLine, file: f}
	br := bufio.NewReaderSize(f, 256<<10)
	if in.Format == JSONLines {
		r.br = br
		return r, nil
	}
	r.cr = csv.NewReader(br)
	r.cr.FieldsPerRecord = -1 // Row checks the count and says so in its own words
	r.cr.ReuseRecord = true
	header, err := r.cr.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, &RowError{Pos: r.pos(1), Problems: []FieldError{{Problem: "expected a header row naming the fields, got an empty file"}}}
		}
		return nil, r.csvError(err)
	}
	var problems []FieldError
	if r.header, problems = m.CSV(header); problems != nil {
		f.Close()
		return nil, &RowError{Pos: r.pos(1), Problems: problems, Raw: csvLine(header)}
	}
	return r, nil
}

func (r *rowReader) pos(line int) Position {
	return Position{Input: r.index, File: r.in.name(), Line: line}
}

// size is the file's size, 0 if unknown.
func (r *rowReader) size() int64 {
	if st, err := r.file.Stat(); err == nil && st.Mode().IsRegular() {
		return st.Size()
	}
	return 0
}

func (r *rowReader) close() error { return r.file.Close() }

// next returns the next row. A row that cannot be mapped comes back as a
// *RowError in bad, with err nil; err is io.EOF at the end, or a read error.
func (r *rowReader) next() (pos Position, row Row, bad *RowError, err error) {
	if r.cr != nil {
		return r.nextCSV()
	}
	for {
		line, err := r.readLine()
		if err != nil {
			return Position{}, Row{}, nil, err
		}
		if r.line < r.from || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		pos := r.pos(r.line)
		row, problems := r.m.JSON(line)
		if problems != nil {
			return pos, Row{}, &RowError{Pos: pos, Problems: problems, Raw: bytes.Clone(line)}, nil
		}
		return pos, row, nil, nil
	}
}

// readLine returns the next line without its line ending; the slice is
// valid until the next call.
func (r *rowReader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || len(r.buf) == 0) {
			return nil, err
		}
		r.line++
		r.used.Add(int64(len(r.buf)))
		return bytes.TrimSuffix(bytes.TrimSuffix(r.buf, []byte("\n")), []byte("\r")), nil
	}
}

func (r *rowReader) nextCSV() (Position, Row, *RowError, error) {
	for {
		cells, err := r.cr.Read()
		r.used.Store(r.cr.InputOffset())
		if errors.Is(err, io.EOF) {
			return Position{}, Row{}, nil, err
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.StartLine < r.from {
					continue
				}
				bad := r.csvError(err)
				return bad.Pos, Row{}, bad, nil
			}
			return Position{}, Row{}, nil, err
		}
		line, _ := r.cr.FieldPos(0)
		if line < r.from {
			continue
		}
		pos := r.pos(line)
		row, problems := r.header.Row(cells)
		if problems != nil {
			return pos, Row{}, &RowError{Pos: pos, Problems: problems, Raw: csvLine(cells)}, nil
		}
		return pos, row, nil, nil
	}
}

func (r *rowReader) csvError(err error) *RowError {
	line := 1
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line, err = pe.StartLine, pe.Err
	}
	return &RowError{Pos: r.pos(line), Problems: []FieldError{{Problem: "invalid CSV: " + err.Error()}}}
}

func csvLine(cells []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(cells)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
