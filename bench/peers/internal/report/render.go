package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// Meta is what the table was measured on and with.
type Meta struct {
	Date        time.Time
	Command     string
	Quick       bool
	Reps        int
	Machine     string
	Versions    [][2]string // name, version
	Calibration []Calibration
	Settings    []string
	Workloads   []workload.Workload
	Contenders  []contender.Contender
}

// Calibration is the handler's SHA-256 rounds for one language.
type Calibration struct {
	Lang    contender.Language
	K       int
	PerCall time.Duration // measured CPU per call at K
	Target  time.Duration
}

var header = []string{"workload", "contender", "guarantee", "rec/s median", "rec/s best", "wall s min / median",
	"CPU ms per 1k rec", "broker CPU ms per 1k rec", "peak RSS MiB", "startup s", "outputs", "dup", "missing", "keys reordered", "status"}

func row(c Cell) []string {
	r := []string{c.Workload.Name, c.Contender.Name, c.Contender.Guarantee}
	if c.Contender.Unavailable != "" || len(c.measured()) == 0 {
		r = append(r, "-", "-", "-", "-", "-", "-", "-")
	} else {
		m, best, _ := c.Rate()
		lo, mid, _ := c.Wall()
		cpu, bcpu, _ := c.CPUPer1k()
		r = append(r, thousands(m), thousands(best), fmt.Sprintf("%.2f / %.2f", lo, mid),
			fmt.Sprintf("%.0f", cpu), fmt.Sprintf("%.0f", bcpu), fmt.Sprintf("%.0f", c.PeakRSS()), fmt.Sprintf("%.1f", c.Startup()))
	}
	if c.Contender.Unavailable != "" || len(c.Runs) == 0 {
		r = append(r, "-", "-", "-", "-")
	} else {
		outs, dups, missing, reordered := c.Worst()
		ro := fmt.Sprint(reordered)
		if !c.Contender.KeyOrder {
			ro += " (not promised)"
		}
		r = append(r, fmt.Sprint(outs), fmt.Sprint(dups), fmt.Sprint(missing), ro)
	}
	return append(r, c.Status())
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func (m Meta) lines() []string {
	l := []string{
		"date: " + m.Date.Format("2006-01-02 15:04 MST"),
		"machine: " + m.Machine,
	}
	var vs []string
	for _, v := range m.Versions {
		vs = append(vs, v[0]+" "+v[1])
	}
	l = append(l, "versions: "+strings.Join(vs, ", "))
	for _, c := range m.Calibration {
		l = append(l, fmt.Sprintf("handler K (%s): %d SHA-256 rounds = %.1f µs CPU per call (target %s)", c.Lang, c.K, float64(c.PerCall)/1e3, c.Target))
	}
	l = append(l, m.Settings...)
	runs := fmt.Sprintf("runs: %d per cell, contenders interleaved", m.Reps)
	if m.Quick {
		runs += " (--quick: small counts, a smoke run, figures mean little)"
	}
	return append(l, runs, "command: "+m.Command)
}

// Text writes the table for a terminal.
func Text(w io.Writer, m Meta, cells []Cell) error {
	for _, l := range m.lines() {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, c := range cells {
		fmt.Fprintln(tw, strings.Join(row(c), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range Ratios(cells) {
		fmt.Fprintln(w, ratioLine(r))
	}
	return nil
}

func ratioLine(r Ratio) string {
	if !r.OK {
		return fmt.Sprintf("%s %s: no ratio (%s); target ≥ %g", r.Workload, r.What, r.Note, r.Want)
	}
	verdict := "met"
	if !r.Met() {
		verdict = "NOT met"
	}
	s := fmt.Sprintf("%s %s: %.2f× (%s / %s; target ≥ %g×) %s", r.Workload, r.What, r.Value, r.Sluice, r.Baseline, r.Want, verdict)
	if r.Note != "" {
		s += " [" + r.Note + "]"
	}
	return s
}

// Markdown writes the table, the targets and what was run, for the README.
func Markdown(w io.Writer, m Meta, cells []Cell, png string) error {
	fmt.Fprintln(w, "<!-- written by bench/peers/run; do not edit by hand -->")
	fmt.Fprintln(w)
	for _, l := range m.lines() {
		fmt.Fprintf(w, "- %s\n", mdEscape(l))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", len(header)))
	for _, c := range cells {
		cols := row(c)
		for i := range cols {
			cols[i] = mdEscape(cols[i])
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Sluice's targets, as ratios of median records/s from this run:")
	fmt.Fprintln(w)
	for _, r := range Ratios(cells) {
		fmt.Fprintf(w, "- %s\n", mdEscape(ratioLine(r)))
	}
	if png != "" {
		fmt.Fprintf(w, "\n![records/s and CPU per record, per contender and workload](%s)\n", png)
	}
	fmt.Fprintln(w, "\nWorkloads:")
	fmt.Fprintln(w)
	for _, wl := range m.Workloads {
		fmt.Fprintf(w, "- %s\n", wl)
	}
	fmt.Fprintln(w, "\nContenders:")
	fmt.Fprintln(w)
	for _, c := range m.Contenders {
		s := fmt.Sprintf("- `%s`: %s, %s; %s", c.Name, c.Runtime, c.Guarantee, c.Settings)
		if c.Unavailable != "" {
			s += " (" + c.Unavailable + ")"
		}
		fmt.Fprintln(w, s)
	}
	return nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
