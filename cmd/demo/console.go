package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// console is the demo's output: the progress line, the messages around it
// and the processors' logs. On a terminal the progress line is rewritten in
// place, and anything else written meanwhile first clears it, so that logs
// never leave half a progress line behind; elsewhere (a pipe, a file, a CI
// log) every progress update is a line of its own.
//
// Any goroutine may write; mu serializes the writes and guards open.
type console struct {
	out, errOut io.Writer
	tty         bool
	// enter, when not nil, is a terminal's input on which the user can
	// press Enter: the demo then keeps its views up until they do.
	enter io.Reader

	mu   sync.Mutex
	open bool // a progress line is on the terminal without its newline
}

func newConsole(out, errOut io.Writer) *console {
	return &console{out: out, errOut: errOut, tty: isTerminal(out)}
}

// isTerminal reports whether v (a reader or a writer) is a character
// device, such as a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows line as the current progress.
func (c *console) progress(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty {
		fmt.Fprint(c.out, "\r\x1b[K"+line)
		c.open = true
		return
	}
	fmt.Fprintln(c.out, line)
}

// waitForEnter waits until the user presses Enter (a line, or the end of
// the input) or ctx ends. The read cannot be cancelled: when ctx ends
// first, the reading goroutine stays blocked until the process exits,
// which follows at once.
func (c *console) waitForEnter(ctx context.Context) {
	pressed := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(c.enter).ReadString('\n')
		close(pressed)
	}()
	select {
	case <-pressed:
	case <-ctx.Done():
	}
}

// printf writes a message on a line of its own, after the progress line.
func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLine()
	fmt.Fprintf(c.out, format, args...)
}

// errorf writes a message to the error output.
func (c *console) errorf(format string, args ...any) {
	_, _ = fmt.Fprintf(c.stderr(), format, args...)
}

// stderr returns a writer to the error output that first ends an open
// progress line; give it to the loggers.
func (c *console) stderr() io.Writer { return stderrWriter{c} }

type stderrWriter struct{ c *console }

func (w stderrWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.endLine()
	return w.c.errOut.Write(p)
}

// endLine ends an open progress line, keeping it on screen. mu is held.
func (c *console) endLine() {
	if c.open {
		fmt.Fprintln(c.out)
		c.open = false
	}
}

// num formats n with thousands separators: 12,345.
func num[T int | int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
