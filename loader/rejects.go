package loader

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// RejectFile writes rejected rows, with their reasons, as JSON Lines:
//
//	{"file":"orders.jsonl","line":17,"problems":["field \"lines[1].quantity\": expected int, got \"three\""],"row":"{...}"}
//
// row is the input row as read (a CSV record as one CSV line), so it can be
// fixed and loaded again. The file is created on the first rejection only.
// It is not safe for concurrent use.
type RejectFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
}

// NewRejectFile returns a RejectFile that will write to path.
func NewRejectFile(path string) *RejectFile { return &RejectFile{path: path} }

type rejectLine struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Problems []string `json:"problems"`
	Row      string   `json:"row"`
}

// Write appends one rejected row.
func (r *RejectFile) Write(e *RowError) error {
	if r.f == nil {
		f, err := os.Create(r.path)
		if err != nil {
			return fmt.Errorf("reject file: %w", err)
		}
		r.f, r.w = f, bufio.NewWriter(f)
	}
	line := rejectLine{File: e.Pos.File, Line: e.Pos.Line, Row: string(e.Raw)}
	for _, p := range e.Problems {
		line.Problems = append(line.Problems, p.Error())
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	r.n++
	if _, err := r.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("reject file %s: %w", r.path, err)
	}
	return nil
}

// Count is the number of rows written.
func (r *RejectFile) Count() int64 { return r.n }

// Path is the file's path.
func (r *RejectFile) Path() string { return r.path }

// Close flushes and closes the file, if it was created.
func (r *RejectFile) Close() error {
	if r.f == nil {
		return nil
	}
	if err := r.w.Flush(); err != nil {
		r.f.Close()
		return fmt.Errorf("reject file %s: %w", r.path, err)
	}
	return r.f.Close()
}
