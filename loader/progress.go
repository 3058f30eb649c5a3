package loader

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Status is what a progress report shows.
type Status struct {
	Records int64 // sent, or rows checked while validating
	Acked   int64 // -1 while validating
	Errors  int64 // failed plus rejected records, or invalid rows
	Bytes   int64 // bytes sent, or read while validating
	// Done out of Total is the source's progress (Source.Progress), for the
	// ETA; Total 0 means unknown.
	Done, Total int64
}

// Progress reports a running load.
type Progress struct {
	// W receives the live line on a terminal.
	W io.Writer
	// Live rewrites one line in place; otherwise Log gets a line every
	// Interval.
	Live     bool
	Log      *slog.Logger
	Interval time.Duration
}

// IsTerminal reports whether f is a terminal (a character device), where
// a live progress line belongs.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Report shows status every so often until ctx ends, then clears the live
// line so the summary starts on a clean one. label names the phase.
func (p Progress) Report(ctx context.Context, label string, status func() Status) {
	every := p.Interval
	if p.Live {
		every = 250 * time.Millisecond
	}
	if every <= 0 {
		return
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.Live {
				fmt.Fprint(p.W, "\r\033[K")
			}
			return
		case <-t.C:
		}
		s := status()
		elapsed := time.Since(start)
		rate := float64(s.Records) / elapsed.Seconds()
		eta := "?"
		if s.Total > 0 && s.Done > 0 {
			eta = clockTime(time.Duration(float64(elapsed) * float64(s.Total-s.Done) / float64(s.Done)))
		}
		if p.Live {
			acked := ""
			if s.Acked >= 0 {
				acked = "  acked " + group(s.Acked)
			}
			fmt.Fprintf(p.W, "\r\033[K%s  sent %s%s  %s rec/s  %s  errors %s  ETA %s",
				label, group(s.Records), acked, group(int64(rate)), byteSize(s.Bytes), group(s.Errors), eta)
			continue
		}
		attrs := []any{"records", s.Records}
		if s.Acked >= 0 {
			attrs = append(attrs, "acked", s.Acked)
		}
		attrs = append(attrs, "rate", fmt.Sprintf("%.0f/s", rate), "bytes", s.Bytes, "errors", s.Errors, "eta", eta)
		p.Log.Info(label, attrs...)
	}
}

// String is the final summary: counts, rate and duration.
func (s Summary) String() string {
	return fmt.Sprintf("sent %s, acknowledged %s, failed %s (%s) in %s, %s records/s",
		group(s.Sent), group(s.Acked), group(s.Failed), byteSize(s.Bytes),
		s.Elapsed.Round(time.Millisecond), group(int64(s.Rate())))
}

// group writes n with thousands separators: 1,234,567.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func clockTime(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}
