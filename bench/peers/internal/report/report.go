// Package report turns the benchmark's runs into its outputs: a text table
// for the terminal, a Markdown file with the same table and the Sluice
// targets as ratios, a JSON file of every run, and a PNG chart.
package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/measure"
	"github.com/sluice-dev/sluice/bench/peers/internal/outputs"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// Run is one contender's run on one workload.
type Run struct {
	Workload  string
	Contender string
	Rep       int
	Result    measure.Result
	Check     outputs.Check
	CheckErr  string `json:",omitempty"`
	// Problems lists what the output check found against the contender's
	// promises; empty means verified.
	Problems []string `json:",omitempty"`
}

// Judge fills r.Problems: outputs must match committed inputs one for one
// (duplicates allowed at-least-once only), key order must hold where
// promised, and sampled values must be the handler's.
func (r *Run) Judge(c contender.Contender) {
	if r.Result.Status == measure.Skipped || r.Result.Status == measure.Failed && r.Check.Outputs == 0 && r.CheckErr == "" {
		return
	}
	var p []string
	ch := r.Check
	if r.CheckErr != "" {
		p = append(p, "output check failed: "+r.CheckErr)
	}
	if ch.Missing > 0 {
		p = append(p, fmt.Sprintf("%d committed inputs without output", ch.Missing))
	}
	if r.Result.Status == measure.OK && ch.Pending > 0 {
		p = append(p, fmt.Sprintf("%d inputs without output", ch.Pending))
	}
	if ch.Unexpected > 0 {
		p = append(p, fmt.Sprintf("%d unexpected outputs", ch.Unexpected))
	}
	if ch.BadValues > 0 {
		p = append(p, fmt.Sprintf("%d sampled values wrong", ch.BadValues))
	}
	if c.KeyOrder && ch.ReorderedKeys > 0 {
		p = append(p, fmt.Sprintf("%d keys out of order", ch.ReorderedKeys))
	}
	if c.Guarantee == "exactly-once" && ch.Duplicates > 0 {
		p = append(p, fmt.Sprintf("%d duplicates", ch.Duplicates))
	}
	r.Problems = p
}

// Cell summarizes the runs of one contender on one workload.
type Cell struct {
	Workload  workload.Workload
	Contender contender.Contender
	Runs      []Run
}

// Status is "ok" when every run finished and verified, else the worst of
// skipped, failed, "check failed" and timeout, with its reason.
func (c Cell) Status() string {
	if c.Contender.Unavailable != "" {
		return "skipped: " + c.Contender.Unavailable
	}
	var timeouts, fails, bad []string
	for _, r := range c.Runs {
		switch {
		case r.Result.Status == measure.Failed:
			fails = append(fails, firstLine(r.Result.Err))
		case len(r.Problems) > 0:
			bad = append(bad, strings.Join(r.Problems, ", "))
		case r.Result.Status == measure.Timeout:
			timeouts = append(timeouts, fmt.Sprintf("%d/%d", r.Result.Done, c.Workload.Records))
		}
	}
	switch {
	case len(c.Runs) == 0:
		return "not run"
	case len(fails) > 0:
		return "FAILED: " + fails[0]
	case len(bad) > 0:
		return "CHECK FAILED: " + bad[0]
	case len(timeouts) > 0:
		return fmt.Sprintf("timeout at %s (%s)", strings.Join(timeouts, ", "), c.Workload.Limit)
	}
	return "ok"
}

// measured returns the runs that produced figures (finished or timed out).
func (c Cell) measured() []Run {
	var out []Run
	for _, r := range c.Runs {
		if r.Result.Status == measure.OK || r.Result.Status == measure.Timeout {
			out = append(out, r)
		}
	}
	return out
}

func (c Cell) figures(f func(Run) float64) []float64 {
	var v []float64
	for _, r := range c.measured() {
		v = append(v, f(r))
	}
	sort.Float64s(v)
	return v
}

// Rate returns the median and best records per second; ok is false when no
// run produced figures.
func (c Cell) Rate() (median, best float64, ok bool) {
	v := c.figures(func(r Run) float64 { return r.Result.Rate })
	if len(v) == 0 {
		return 0, 0, false
	}
	return med(v), v[len(v)-1], true
}

// Wall returns the minimum and median processing window in seconds.
func (c Cell) Wall() (minimum, median float64, ok bool) {
	v := c.figures(func(r Run) float64 { return r.Result.Window.Seconds() })
	if len(v) == 0 {
		return 0, 0, false
	}
	return v[0], med(v), true
}

// CPUPer1k returns the median CPU milliseconds per 1,000 records of the
// contender and of the broker.
func (c Cell) CPUPer1k() (contenderMs, brokerMs float64, ok bool) {
	per := func(d time.Duration, n int64) float64 { return d.Seconds() * 1e3 / float64(max(n, 1)) * 1e3 }
	v := c.figures(func(r Run) float64 { return per(r.Result.CPU, r.Result.Done) })
	b := c.figures(func(r Run) float64 { return per(r.Result.BrokerCPU, r.Result.Done) })
	if len(v) == 0 {
		return 0, 0, false
	}
	return med(v), med(b), true
}

// PeakRSS returns the largest peak RSS of the runs, in MiB.
func (c Cell) PeakRSS() float64 {
	v := c.figures(func(r Run) float64 { return float64(r.Result.PeakRSS) / (1 << 20) })
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// Startup returns the median time from process start to first output.
func (c Cell) Startup() float64 {
	v := c.figures(func(r Run) float64 { return r.Result.Startup.Seconds() })
	if len(v) == 0 {
		return 0
	}
	return med(v)
}

// Worst returns the largest counts any run's output check found.
func (c Cell) Worst() (outputsMin, dups, missing, reordered int) {
	outputsMin = -1
	for _, r := range c.Runs {
		if r.Result.Status == measure.Skipped {
			continue
		}
		if outputsMin < 0 || r.Check.Outputs < outputsMin {
			outputsMin = r.Check.Outputs
		}
		dups = max(dups, r.Check.Duplicates)
		missing = max(missing, r.Check.Missing+pendingIfDone(r))
		reordered = max(reordered, r.Check.ReorderedKeys)
	}
	return max(outputsMin, 0), dups, missing, reordered
}

func pendingIfDone(r Run) int {
	if r.Result.Status == measure.OK {
		return r.Check.Pending
	}
	return 0
}

func med(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Cells groups runs by workload and contender, in the given orders.
func Cells(ws []workload.Workload, cs []contender.Contender, runs []Run) []Cell {
	var out []Cell
	for _, w := range ws {
		for _, c := range cs {
			cell := Cell{Workload: w, Contender: c}
			for _, r := range runs {
				if r.Workload == w.Name && r.Contender == c.Name {
					cell.Runs = append(cell.Runs, r)
				}
			}
			out = append(out, cell)
		}
	}
	return out
}

// Target is one of issue 13's goals for Sluice, as a ratio of median rates
// measured in the same run.
type Target struct {
	Workload string
	Sluice   string   // contender
	Versus   []string // contenders; the best of them is the baseline
	Want     float64
	What     string
}

// Targets are issue 13's: key mode ≥ 3× Parallel Consumer and ≥ 2× Kafka
// Streams on W1, ≥ 0.95× the hand-written franz-go loop on W2 and W3,
// ≥ 50× partition mode on W4.
var Targets = []Target{
	{"W1", "sluice-key", []string{"pc-key-4", "pc-key-16"}, 3, "key mode vs Parallel Consumer (the faster of concurrency 4 and 16)"},
	{"W1", "sluice-key", []string{"streams-alos"}, 2, "key mode vs Kafka Streams (at_least_once)"},
	{"W2", "sluice-key", []string{"franz-go-loop"}, 0.95, "key mode vs the hand-written franz-go loop"},
	{"W3", "sluice-key", []string{"franz-go-loop"}, 0.95, "key mode vs the hand-written franz-go loop"},
	{"W4", "sluice-key", []string{"sluice-partition"}, 50, "key mode vs partition mode"},
}

// Ratio is a Target evaluated.
type Ratio struct {
	Target
	Baseline string // the contender used as baseline
	Value    float64
	OK       bool // figures for both sides
	Note     string
}

// Met reports whether the ratio reaches the target.
func (r Ratio) Met() bool { return r.OK && r.Value >= r.Want }

// Ratios evaluates the targets on cells.
func Ratios(cells []Cell) []Ratio {
	find := func(w, c string) (Cell, bool) {
		i := slices.IndexFunc(cells, func(x Cell) bool { return x.Workload.Name == w && x.Contender.Name == c })
		if i < 0 {
			return Cell{}, false
		}
		return cells[i], true
	}
	var out []Ratio
	for _, t := range Targets {
		r := Ratio{Target: t}
		s, ok := find(t.Workload, t.Sluice)
		sr, _, sok := s.Rate()
		if !ok || !sok {
			r.Note = t.Sluice + " has no figures on " + t.Workload
			out = append(out, r)
			continue
		}
		var base float64
		for _, v := range t.Versus {
			if c, ok := find(t.Workload, v); ok {
				if m, _, ok := c.Rate(); ok && m > base {
					base, r.Baseline = m, v
				}
			}
		}
		if base == 0 {
			r.Note = "no baseline figures on " + t.Workload
			out = append(out, r)
			continue
		}
		r.Value, r.OK = sr/base, true
		var notes []string
		if st := s.Status(); st != "ok" {
			notes = append(notes, t.Sluice+": "+st)
		}
		if c, _ := find(t.Workload, r.Baseline); c.Status() != "ok" {
			notes = append(notes, r.Baseline+": "+c.Status())
		}
		r.Note = strings.Join(notes, "; ")
		out = append(out, r)
	}
	return out
}
