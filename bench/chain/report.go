package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// summary is the one-line progress report of a step.
func (r *stepResult) summary() string {
	v := r.verdict
	return fmt.Sprintf("%s: p50 %s p99 %s max %s, start-up p99 %s (p99 of each stage alone: validate %s score %s decide %s), lag at stop %d, after settle %d, growth %.0f/s, bounded %s; CPU ms/record validate %.3f score %.3f decide %.3f; machine %.2f cores busy (others %.2f)",
		r.name, r.lat.quantile(0.50), r.lat.quantile(0.99), r.lat.quantile(1), r.lat.startupQuantile(0.99),
		fmtDuration(r.lat.hopQuantile(0, 0.99)), fmtDuration(r.lat.hopQuantile(1, 0.99)), fmtDuration(r.lat.hopQuantile(2, 0.99)),
		v.atStop.total(), v.final.total(), v.growth,
		yesNo(v.bounded), 1e3*r.cpuPerRecord(0), 1e3*r.cpuPerRecord(1), 1e3*r.cpuPerRecord(2), r.machineBusy, r.otherCores())
}

func ms(sec float64) string {
	if sec < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", sec*1e3)
}

func lags(s lagSample) string { return fmt.Sprintf("%d / %d / %d", s.lag[0], s.lag[1], s.lag[2]) }

// report prints the tables of a search: latency and lag, CPU, the
// key/partition ratios, the highest bounded rate per mode and the
// acceptance lines.
func report(w io.Writer, cfg config, results []*stepResult, loadStart, loadEnd string) {
	fmt.Fprintf(w, "\n## Order chain under sustained load (%s per rate, settle %s, %d partitions)\n\n", cfg.duration, cfg.settle, cfg.partitions)
	fmt.Fprintf(w, "Load average (1, 5, 15 min) at start %s, at end %s. Steps in the order run.\n\n", loadStart, loadEnd)
	fmt.Fprintf(w, "Latency over every order of the measured window. Start-up: the orders of each step's %s lead-in, the first load on fresh topics and freshly started stages, drained before the window starts and in no other figure.\n\n", cfg.leadIn)
	fmt.Fprintln(w, "| step | rate/s | mode | sent/s | p50 | p99 | p99.9 | max | start-up p99 | start-up max | not decided | lag at stop (v / s / d) | lag +settle | lag growth | bounded |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		v := r.verdict
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %d | %s | %d | %+.1f%% | %s |\n",
			r.name, r.rate, r.mode, float64(r.lat.orders)/cfg.duration.Seconds(),
			r.lat.quantile(0.50), r.lat.quantile(0.99), r.lat.quantile(0.999), r.lat.quantile(1),
			r.lat.startupQuantile(0.99), r.lat.startupQuantile(1),
			r.lat.orders-r.lat.decided, lags(v.atStop), v.final.total(), 100*v.growth/float64(r.rate), yesNo(v.bounded))
	}
	fmt.Fprintln(w, "\nCPU per record each stage committed (ms), broker and loader per order sent (ms), score's mean handler time, machine-wide busy cores over the window and the part of it no process of the benchmark accounts for (other users of the machine):")
	fmt.Fprintln(w, "\n| step | validate | score | decide | broker | loader | score handler | machine busy | others | load avg before → after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		per := func(sec float64) string {
			if sec < 0 || r.lat.orders == 0 {
				return "-"
			}
			return ms(sec / float64(r.lat.orders))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s → %s |\n",
			r.name, ms(r.cpuPerRecord(0)), ms(r.cpuPerRecord(1)), ms(r.cpuPerRecord(2)), per(r.brokerCPU), per(r.loaderCPU),
			fmtDuration(r.handlerMean[1]), r.machineBusy, r.otherCores(), r.loadBefore, r.loadEnd)
	}
	printRatios(w, results)
	fmt.Fprintln(w)
	for _, m := range cfg.modes {
		fmt.Fprintf(w, "highest rate bounded in every step, %s mode: %s\n", m, highestBounded(results, m))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, acceptanceBounded(results))
	fmt.Fprintln(w, acceptanceP99(results))
	for _, r := range results {
		if r.lat.duplicates > 0 || r.lat.unmatched > 0 || r.stopErr != nil {
			fmt.Fprintf(w, "note %s: %d duplicate decisions, %d decisions of unknown orders, stop: %v\n", r.name, r.lat.duplicates, r.lat.unmatched, r.stopErr)
		}
	}
}

// printRatios prints, at each rate both ran, the ratios of mode num to
// mode den: key to partition, and each MODE@variant to MODE.
func printRatios(w io.Writer, results []*stepResult) {
	pairs := [][2]string{{modeKey, modePartition}}
	seen := map[string]bool{}
	for _, r := range results {
		if o, v := splitMode(r.mode); v != "" && !seen[r.mode] {
			seen[r.mode] = true
			pairs = append(pairs, [2]string{r.mode, o})
		}
	}
	for _, p := range pairs {
		printRatio(w, results, p[0], p[1])
	}
}

func printRatio(w io.Writer, results []*stepResult, num, den string) {
	var rows []string
	nth := map[int]int{} // per rate, how many of num's steps came before
	for _, n := range results {
		if n.mode != num {
			continue
		}
		// A rate run twice pairs each mode's first steps, then its
		// second ones.
		i := nth[n.rate]
		nth[n.rate]++
		ds := tries(results, den, n.rate)
		if i >= len(ds) {
			continue
		}
		d := ds[i]
		ratio := func(a, b float64) string {
			if b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		np99, dp99 := n.lat.quantile(0.99), d.lat.quantile(0.99)
		p99 := ratio(float64(np99.d), float64(dp99.d))
		if np99.atLeast || dp99.atLeast {
			p99 += " (bound)"
		}
		rows = append(rows, fmt.Sprintf("| %d | %s | %s | %s | %s |", n.rate,
			ratio(n.cpuPerRecord(0), d.cpuPerRecord(0)), ratio(n.cpuPerRecord(1), d.cpuPerRecord(1)),
			ratio(n.cpuPerRecord(2), d.cpuPerRecord(2)), p99))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s / %s, same rate, same run (CPU per record; > 1 means %s costs more):\n", num, den, num)
	fmt.Fprintln(w, "\n| rate/s | validate CPU | score CPU | decide CPU | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	fmt.Fprintln(w, strings.Join(rows, "\n"))
}

// highestBounded is the highest rate at which mode stayed bounded in
// every step, with every lower rate bounded too. A rate the modes were run
// at twice (search's second round where they disagreed) says in how many
// of its steps mode kept up.
func highestBounded(results []*stepResult, mode string) string {
	type tally struct{ rate, steps, bounded int }
	var rates []tally // ascending, as search runs them
	for _, r := range results {
		if r.mode != mode {
			continue
		}
		if len(rates) == 0 || rates[len(rates)-1].rate != r.rate {
			rates = append(rates, tally{rate: r.rate})
		}
		t := &rates[len(rates)-1]
		t.steps++
		if r.verdict.bounded {
			t.bounded++
		}
	}
	// notIn says in how many of a rate's steps mode fell behind, where
	// it ran there more than once.
	notIn := func(t tally) string {
		if t.steps == 1 {
			return ""
		}
		return fmt.Sprintf(" in %d of its %d steps", t.steps-t.bounded, t.steps)
	}
	best := -1
	for i, t := range rates {
		if t.bounded < t.steps {
			break
		}
		best = i
	}
	switch {
	case len(rates) == 0:
		return "not run"
	case best == -1:
		return fmt.Sprintf("none (not bounded at %d/s%s, the lowest rate tried)", rates[0].rate, notIn(rates[0]))
	case best == len(rates)-1:
		top := rates[best]
		if top.steps > 1 {
			return fmt.Sprintf("%d/s (the highest rate tried; bounded in all %d steps there)", top.rate, top.steps)
		}
		return fmt.Sprintf("%d/s (the highest rate tried)", top.rate)
	}
	fail := rates[best+1]
	return fmt.Sprintf("%d/s (not bounded at %d/s%s)", rates[best].rate, fail.rate, notIn(fail))
}

// tries returns mode's steps at rate, in the order run.
func tries(results []*stepResult, mode string, rate int) []*stepResult {
	var out []*stepResult
	for _, r := range results {
		if r.mode == mode && r.rate == rate {
			out = append(out, r)
		}
	}
	return out
}

// find returns mode's first step at rate, nil if it did not run there.
func find(results []*stepResult, mode string, rate int) *stepResult {
	if ts := tries(results, mode, rate); len(ts) > 0 {
		return ts[0]
	}
	return nil
}

func acceptanceBounded(results []*stepResult) string {
	const line = "default mode, 2,000 orders/s: lag bounded "
	r := find(results, modeKey, 2000)
	if r == nil {
		return line + "not measured (needs 2000 in --rates and key in --modes)"
	}
	return fmt.Sprintf("%s%s (lag %d at the loader's stop, %d after settle, growth %+.1f%% of the rate per second)",
		line, yesNo(r.verdict.bounded), r.verdict.atStop.total(), r.verdict.final.total(), 100*r.verdict.growth/float64(r.rate))
}

func acceptanceP99(results []*stepResult) string {
	const line = "default mode, 1,000 orders/s: p99 = "
	r := find(results, modeKey, 1000)
	if r == nil {
		return line + "not measured (needs 1000 in --rates and key in --modes) (target < 500 ms)"
	}
	judge := func(q quantile) string {
		met := !q.atLeast && q.d < 500*time.Millisecond
		return fmt.Sprintf("%.0f ms%s (%s)", float64(q.d)/float64(time.Millisecond),
			map[bool]string{true: " or more", false: ""}[q.atLeast], map[bool]string{true: "met", false: "not met"}[met])
	}
	out := fmt.Sprintf("%s%s over every order of the measured window (target < 500 ms)", line, judge(r.lat.quantile(0.99)))
	if r.lat.startup != nil {
		out += fmt.Sprintf("; start-up lead-in, not counted: p99 %s", r.lat.startupQuantile(0.99))
	}
	return out
}
