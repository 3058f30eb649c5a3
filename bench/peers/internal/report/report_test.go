package report

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/measure"
	"github.com/sluice-dev/sluice/bench/peers/internal/outputs"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

func TestJudge(t *testing.T) {
	keyed := contender.Contender{Name: "a", Guarantee: "at-least-once", KeyOrder: true}
	unordered := contender.Contender{Name: "u", Guarantee: "at-least-once"}
	eos := contender.Contender{Name: "e", Guarantee: "exactly-once", KeyOrder: true}
	ok := measure.Result{Status: measure.OK}
	timeout := measure.Result{Status: measure.Timeout}
	for _, c := range []struct {
		name  string
		c     contender.Contender
		res   measure.Result
		check outputs.Check
		want  string // a problem the verdict must name; "" means none
	}{
		{"clean", keyed, ok, outputs.Check{Outputs: 10, Distinct: 10}, ""},
		{"duplicates are fine at least once", keyed, ok, outputs.Check{Outputs: 12, Distinct: 10, Duplicates: 2}, ""},
		{"duplicates are not fine exactly once", eos, ok, outputs.Check{Outputs: 12, Distinct: 10, Duplicates: 2}, "2 duplicates"},
		{"committed input without output", keyed, ok, outputs.Check{Missing: 1}, "1 committed inputs without output"},
		{"a finished run has no pending input", keyed, ok, outputs.Check{Pending: 3}, "3 inputs without output"},
		{"a timed-out run may have pending input", keyed, timeout, outputs.Check{Pending: 3}, ""},
		{"reordered where key order is promised", keyed, ok, outputs.Check{ReorderedKeys: 4}, "4 keys out of order"},
		{"reordered where it is not promised", unordered, ok, outputs.Check{ReorderedKeys: 4}, ""},
		{"wrong values", keyed, ok, outputs.Check{BadValues: 1}, "1 sampled values wrong"},
		{"unexpected outputs", keyed, ok, outputs.Check{Unexpected: 2}, "2 unexpected outputs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Run{Result: c.res, Check: c.check}
			r.Judge(c.c)
			got := strings.Join(r.Problems, "; ")
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("problems %q, want %q", got, c.want)
			}
		})
	}
}

func run(w, c string, status measure.Status, rate float64) Run {
	return Run{Workload: w, Contender: c, Result: measure.Result{Status: status, Rate: rate, Done: 100, Window: time.Second}}
}

func TestCellReportsMedianAndBestAndTheWorstStatus(t *testing.T) {
	w := workload.Workload{Name: "W1", Records: 100, Limit: time.Minute}
	cell := Cell{Workload: w, Contender: contender.Contender{Name: "x"}, Runs: []Run{
		run("W1", "x", measure.OK, 100), run("W1", "x", measure.OK, 300), run("W1", "x", measure.Timeout, 50)}}
	if m, best, ok := cell.Rate(); !ok || m != 100 || best != 300 {
		t.Fatalf("Rate = %v, %v, %v; want median 100, best 300", m, best, ok)
	}
	if s := cell.Status(); !strings.HasPrefix(s, "timeout at 100/100") {
		t.Fatalf("Status = %q, want a timeout with the count reached", s)
	}
	skipped := Cell{Workload: w, Contender: contender.Contender{Name: "y", Unavailable: "not available in this build"}}
	if s := skipped.Status(); s != "skipped: not available in this build" {
		t.Fatalf("Status of an unavailable contender = %q", s)
	}
}

func TestRatiosUseTheFasterBaselineAndSayWhetherTheTargetIsMet(t *testing.T) {
	ws := []workload.Workload{{Name: "W1"}}
	cs := []contender.Contender{{Name: "sluice-key"}, {Name: "pc-key-4"}, {Name: "pc-key-16"}, {Name: "streams-alos"}}
	cells := Cells(ws, cs, []Run{
		run("W1", "sluice-key", measure.OK, 900),
		run("W1", "pc-key-4", measure.OK, 200),
		run("W1", "pc-key-16", measure.OK, 400),
		run("W1", "streams-alos", measure.OK, 300),
	})
	rs := Ratios(cells)
	pc, streams := rs[0], rs[1]
	if pc.Baseline != "pc-key-16" || pc.Value != 900.0/400 || pc.Met() {
		t.Fatalf("vs Parallel Consumer: %+v; want baseline pc-key-16, 2.25, not met (target 3)", pc)
	}
	if streams.Baseline != "streams-alos" || streams.Value != 3 || !streams.Met() {
		t.Fatalf("vs Kafka Streams: %+v; want 3, met (target 2)", streams)
	}
	if w2 := rs[2]; w2.OK || w2.Met() {
		t.Fatalf("W2 without figures: %+v; want no ratio", w2)
	}
}
