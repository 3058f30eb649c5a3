package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/deadletter"
)

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// confirm asks a question on a terminal and reports whether the answer is
// want. Without a terminal it refuses with an error naming the --yes flag,
// since nobody could answer.
func confirm(con console, what, question, want string) error {
	if !con.inTTY {
		return fmt.Errorf("refusing to %s without confirmation: stdin is not a terminal, so nobody can confirm; rerun with --yes to %s non-interactively", what, what)
	}
	fmt.Fprint(con.err, question)
	line, err := bufio.NewReader(con.in).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read confirmation: %w", err)
	}
	if strings.TrimSpace(line) != want {
		return fmt.Errorf("not confirmed (got %q, want %q): nothing done", strings.TrimSpace(line), want)
	}
	return nil
}

// progress writes a replay's progress to stderr: one line redrawn in place
// on a terminal, else a line every progressEvery. It is called on the
// replay's goroutine only.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  time.Time
	drawn bool
}

const progressEvery = 5 * time.Second

func (p *progress) update(st deadletter.ReplayStats) {
	now := time.Now()
	line := fmt.Sprintf("examined %d of ~%d, replayed %d, skipped %d (%.0f/s)",
		st.Examined, st.Pending, st.Replayed, st.Skipped+st.NoOrigin, float64(st.Replayed)/max(now.Sub(p.start).Seconds(), 0.001))
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
	case now.Sub(p.last) >= progressEvery:
		fmt.Fprintln(p.w, line)
		p.last = now
	}
}

// done ends the redrawn line so the summary starts on its own.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
