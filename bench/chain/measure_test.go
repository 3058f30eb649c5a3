package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicksCountsFromTheLastParenthesis(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 12345 1000000 500 18446744073709551615"
	got, err := parseStatTicks([]byte(line))
	if err != nil || got != 325 {
		t.Fatalf("parseStatTicks = %d, %v; want utime 250 + stime 75 = 325", got, err)
	}
	for _, bad := range []string{"4242 no parens S 1", "4242 (x) S 1 2 3"} {
		if _, err := parseStatTicks([]byte(bad)); err == nil {
			t.Errorf("parseStatTicks(%q) accepted a malformed line", bad)
		}
	}
}

func TestParseMachineCPULeavesOutIdleAndIOWait(t *testing.T) {
	stat := "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
	m, err := parseMachineCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if m.busy != 100+5+50+3+2+1 || m.total != 1181 {
		t.Fatalf("busy %d total %d, want 161 and 1181", m.busy, m.total)
	}
	if _, err := parseMachineCPU([]byte("intr 1 2 3\n")); err == nil {
		t.Error("a /proc/stat without the cpu line was accepted")
	}
}

// samplesEvery makes lag samples every lagEvery for d from lag(t).
func samplesEvery(d time.Duration, lag func(t time.Duration) int64) []lagSample {
	var out []lagSample
	for at := lagEvery; at <= d; at += lagEvery {
		l := lag(at)
		out = append(out, lagSample{at: at, lag: [3]int64{l, 0, 0}})
	}
	return out
}

func TestJudge(t *testing.T) {
	const rate = 2000
	load := 30 * time.Second
	sawtooth := func(at time.Duration) int64 { // committed lag: ~1 s of input, reset by every commit
		return int64(rate * (at % time.Second).Seconds())
	}
	cases := []struct {
		name    string
		lag     func(at time.Duration) int64
		bounded bool
	}{
		{"keeps up: sawtooth, drained after the load", func(at time.Duration) int64 {
			if at > load+time.Second {
				return 0
			}
			return sawtooth(at)
		}, true},
		{"falls behind: handles 700 of 2000 a second", func(at time.Duration) int64 {
			return int64(1300 * min(at, load).Seconds())
		}, false},
		{"grows 10% of the rate a second but drains in the settle window", func(at time.Duration) int64 {
			if at > load+2*time.Second {
				return 0
			}
			return sawtooth(at) + int64(0.1*rate*min(at, load).Seconds())
		}, false},
		{"keeps up but a backlog is left at the end", func(at time.Duration) int64 {
			if at > load {
				return 5000
			}
			return sawtooth(at)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := judge(samplesEvery(load+5*time.Second, c.lag), load, rate)
			if v.bounded != c.bounded {
				t.Fatalf("bounded = %v, want %v (growth %.0f/s, final lag %d)", v.bounded, c.bounded, v.growth, v.final.total())
			}
		})
	}
}

// TestJudgeIsNotFooledByTheCommits: a chain that keeps up has a committed
// lag of three sawtooths, one per stage, each of about a second of input
// and reset by the stage's commits; in a --quick step (10 s, judged over
// the last 5) they must seldom read as growth, whatever their phases and
// with each sample up to 20 ms off its tick (a sample by the reset of one
// stage reads a second of its input more or less), while a chain that
// handles 90% of its input must always read as falling behind. Fitted
// through samples every 500 ms, as before, 10-20% of such steps read as
// growth past the line.
func TestJudgeIsNotFooledByTheCommits(t *testing.T) {
	const rate, runs = 1000, 500
	load := 10 * time.Second
	rnd := rand.New(rand.NewPCG(1, 2))
	misjudged := 0
	for run := range runs {
		var phases [3]time.Duration
		for i := range phases {
			phases[i] = time.Duration(rnd.Int64N(int64(commitInterval)))
		}
		for _, deficit := range []float64{0, 0.1} {
			var samples []lagSample
			for at := lagEvery; at <= load+5*time.Second; at += lagEvery {
				at := at + time.Duration(rnd.Int64N(int64(40*time.Millisecond))) - 20*time.Millisecond
				s := lagSample{at: at}
				for i, ph := range phases {
					if at <= load+time.Second {
						s.lag[i] = int64(rate * ((at + ph) % commitInterval).Seconds())
					}
					s.lag[i] += int64(deficit * rate * min(at, load).Seconds() / 3)
				}
				if deficit == 0 && at > load+time.Second {
					s.lag = [3]int64{}
				}
				samples = append(samples, s)
			}
			v := judge(samples, load, rate)
			switch {
			case deficit > 0 && v.bounded:
				t.Fatalf("run %d (phases %v), handling 90%% of the input: bounded (growth %.0f/s, %.1f%% of the rate)",
					run, phases, v.growth, 100*v.growth/rate)
			case deficit == 0 && !v.bounded:
				misjudged++
				t.Logf("run %d (phases %v), keeping up: unbounded (growth %.0f/s, %.1f%% of the rate)", run, phases, v.growth, 100*v.growth/rate)
			}
		}
	}
	if misjudged > runs/100 {
		t.Fatalf("%d of %d steps that kept up judged unbounded, want at most 1%%", misjudged, runs)
	}
}

func TestJudgeReportsTheLagAtTheLoadersStop(t *testing.T) {
	s := samplesEvery(12*time.Second, func(at time.Duration) int64 { return int64(at / time.Second) })
	v := judge(s, 10*time.Second, 1000)
	if v.atStop.at != 10*time.Second || v.atStop.total() != 10 || v.final.total() != 12 || v.maxLag != 12 {
		t.Fatalf("atStop %v/%d final %d max %d; want 10s/10, 12, 12", v.atStop.at, v.atStop.total(), v.final.total(), v.maxLag)
	}
}

func TestSlope(t *testing.T) {
	if got := slope([]float64{1, 2, 3, 4}, []float64{3, 5, 7, 9}); math.Abs(got-2) > 1e-9 {
		t.Errorf("slope of y=2x+1 = %v, want 2", got)
	}
	if got := slope([]float64{1}, []float64{5}); got != 0 {
		t.Errorf("slope of one point = %v, want 0", got)
	}
}

func TestLatenciesCensorUndecidedOrders(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sent, decided := map[string]time.Time{}, map[string]time.Time{}
	for i := range 100 {
		k := strconv.Itoa(i)
		sent[k] = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		if i < 98 { // the last two are never decided
			decided[k] = sent[k].Add(time.Duration(i+1) * time.Millisecond)
		}
	}
	decided["stranger"] = t0
	cutoff := t0.Add(2 * time.Second)
	l := newLatencies(sent, decided, cutoff)
	if l.orders != 100 || l.decided != 98 || l.unmatched != 1 {
		t.Fatalf("orders %d decided %d unmatched %d, want 100, 98, 1", l.orders, l.decided, l.unmatched)
	}
	if q := l.quantile(0.5); q.d != 50*time.Millisecond || q.atLeast {
		t.Errorf("p50 = %v, want exactly 50ms", q)
	}
	if q := l.quantile(0.98); q.d != 98*time.Millisecond || q.atLeast {
		t.Errorf("p98 = %v, want exactly 98ms", q)
	}
	// Orders 98 and 99, sent at 980 and 990 ms, are undecided at 2 s:
	// their latencies are at least 1.02 s and 1.01 s, so p99 (the 99th
	// smallest) is at least 1.01 s and the maximum at least 1.02 s.
	if q := l.quantile(0.99); !q.atLeast || q.d != 1010*time.Millisecond {
		t.Errorf("p99 = %v, want a lower bound of 1.01s", q)
	}
	if q := l.quantile(1); !q.atLeast || q.d != 1020*time.Millisecond {
		t.Errorf("max = %v, want a lower bound of 1.02s", q)
	}
	if got := l.quantile(0.99).String(); got != "≥1.01s" {
		t.Errorf("p99 prints %q, want ≥1.01s", got)
	}
}

func TestLatencyQuantileWithoutOrders(t *testing.T) {
	var l latencies
	if q := l.quantile(0.99); q.ok || q.String() != "-" {
		t.Fatalf("quantile of nothing = %+v", q)
	}
}

func TestSearchInterleavesAndStopsAModeAfterItFallsBehind(t *testing.T) {
	limit := map[string]int{modeKey: 1000, modePartition: 3000} // highest bounded rate
	var ran []string
	err := search([]int{500, 1000, 2000, 3000, 4000, 6000}, []string{modeKey, modePartition}, func(m string, rate int) (bool, error) {
		ran = append(ran, fmt.Sprintf("%s@%d", m, rate))
		return rate <= limit[m], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"key@500", "partition@500",
		"partition@1000", "key@1000",
		"key@2000", "partition@2000", // key fell behind at 2000 but the acceptance lines need 2000
		"partition@2000", "key@2000", // they disagreed: each again, the other first
		"partition@3000",
		"partition@4000", // partition falls behind here, alone: nothing to disagree with
	}
	if !slices.Equal(ran, want) {
		t.Fatalf("ran %v\nwant %v", ran, want)
	}
}

// Near the machine's limit the first step at a new rate does worse in
// either mode; a mode must not win the comparison by running second.
func TestSearchRunsBothModesAgainWhereTheyDisagree(t *testing.T) {
	var results []*stepResult
	steps := map[string]int{}
	err := search([]int{1000, 4000, 6000}, []string{modeKey, modePartition}, func(m string, rate int) (bool, error) {
		steps[fmt.Sprintf("%s@%d", m, rate)]++
		// At 4000 whichever runs first falls behind; 6000 is beyond both.
		first := len(results) > 0 && results[len(results)-1].rate != rate
		bounded := rate < 4000 || rate == 4000 && !first
		results = append(results, &stepResult{mode: m, rate: rate, verdict: verdict{bounded: bounded}})
		return bounded, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if steps["key@4000"] != 2 || steps["partition@4000"] != 2 {
		t.Fatalf("steps %v: want each mode twice at 4000, where they disagreed", steps)
	}
	// Partition mode went first at 4000 (the second rate) and fell
	// behind there once: it is out, key mode goes on.
	if steps["partition@6000"] != 0 || steps["key@6000"] != 1 {
		t.Fatalf("steps %v: partition fell behind in one of its 4000 steps, so it is out; key kept up in both", steps)
	}
	if got, want := highestBounded(results, modePartition), "1000/s (not bounded at 4000/s in 1 of its 2 steps)"; got != want {
		t.Errorf("partition: %q, want %q", got, want)
	}
	if got, want := highestBounded(results, modeKey), "4000/s (not bounded at 6000/s)"; got != want {
		t.Errorf("key: %q, want %q", got, want)
	}
}

func TestSearchRunsEveryRateUpToTheAcceptanceRate(t *testing.T) {
	var ran []int
	_ = search([]int{500, 1000, 2000, 3000}, []string{modeKey}, func(_ string, rate int) (bool, error) {
		ran = append(ran, rate)
		return false, nil // never bounded
	})
	if !slices.Equal(ran, []int{500, 1000, 2000}) {
		t.Fatalf("ran %v, want 500, 1000, 2000", ran)
	}
}

func TestSearchStopsAtTheFirstError(t *testing.T) {
	n := 0
	err := search([]int{500, 1000}, []string{modeKey, modePartition}, func(string, int) (bool, error) {
		n++
		return true, fmt.Errorf("stage exited")
	})
	if err == nil || n != 1 {
		t.Fatalf("err %v after %d steps, want the first step's error", err, n)
	}
}

func TestHighestBounded(t *testing.T) {
	res := func(mode string, rate int, bounded bool) *stepResult {
		return &stepResult{mode: mode, rate: rate, verdict: verdict{bounded: bounded}}
	}
	rs := []*stepResult{
		res(modeKey, 500, true), res(modePartition, 500, true),
		res(modeKey, 1000, true), res(modePartition, 1000, true),
		res(modeKey, 2000, false), res(modePartition, 2000, true),
	}
	if got := highestBounded(rs, modeKey); got != "1000/s (not bounded at 2000/s)" {
		t.Errorf("key: %q", got)
	}
	if got := highestBounded(rs, modePartition); got != "2000/s (the highest rate tried)" {
		t.Errorf("partition: %q", got)
	}
	if got := acceptanceBounded(rs); !strings.HasPrefix(got, "default mode, 2,000 orders/s: lag bounded no") {
		t.Errorf("acceptance line: %q", got)
	}
}

func TestAcceptanceP99(t *testing.T) {
	t0 := time.Unix(0, 0)
	sent := map[string]time.Time{"a": t0, "b": t0}
	r := &stepResult{mode: modeKey, rate: 1000, lat: newLatencies(sent, map[string]time.Time{"a": t0.Add(120 * time.Millisecond), "b": t0.Add(300 * time.Millisecond)}, t0.Add(time.Minute))}
	if got := acceptanceP99([]*stepResult{r}); got != "default mode, 1,000 orders/s: p99 = 300 ms (met) over every order of the measured window (target < 500 ms)" {
		t.Errorf("got %q", got)
	}
	r.lat = newLatencies(sent, map[string]time.Time{"a": t0.Add(120 * time.Millisecond)}, t0.Add(time.Second))
	if got := acceptanceP99([]*stepResult{r}); got != "default mode, 1,000 orders/s: p99 = 1000 ms or more (not met) over every order of the measured window (target < 500 ms)" {
		t.Errorf("got %q", got)
	}
	// A slow lead-in is shown, not counted.
	from := t0.Add(5 * time.Second)
	sent = map[string]time.Time{"lead": t0, "a": from, "b": from.Add(time.Millisecond)}
	decided := map[string]time.Time{"lead": t0.Add(900 * time.Millisecond), "a": from.Add(40 * time.Millisecond), "b": from.Add(30 * time.Millisecond)}
	r.lat = stepLatencies(sent, decided, from.Add(time.Minute), from)
	if got := acceptanceP99([]*stepResult{r}); got != "default mode, 1,000 orders/s: p99 = 40 ms (met) over every order of the measured window (target < 500 ms); start-up lead-in, not counted: p99 900ms" {
		t.Errorf("got %q", got)
	}
}

func TestStepLatenciesKeepTheLeadInApart(t *testing.T) {
	t0 := time.Unix(0, 0)
	from := t0.Add(5 * time.Second)
	sent := map[string]time.Time{"lead1": t0, "lead2": t0.Add(4 * time.Second), "a": from, "b": from.Add(time.Second)}
	decided := map[string]time.Time{"lead1": t0.Add(2 * time.Second), "lead2": t0.Add(4*time.Second + 10*time.Millisecond), "a": from.Add(50 * time.Millisecond)}
	l := stepLatencies(sent, decided, from.Add(10*time.Second), from)
	if l.orders != 2 || l.decided != 1 || l.unmatched != 0 {
		t.Errorf("measured window: %d orders, %d decided, %d unmatched; want 2, 1, 0 (b censored)", l.orders, l.decided, l.unmatched)
	}
	if q := l.quantile(1); !q.atLeast || q.d != 9*time.Second {
		t.Errorf("max = %v (at least: %v), want b censored at 9s", q.d, q.atLeast)
	}
	if l.startup == nil || l.startup.orders != 2 || l.startup.decided != 2 {
		t.Fatalf("start-up: %+v, want the 2 lead-in orders, decided", l.startup)
	}
	if q := l.startupQuantile(1); q.d != 2*time.Second {
		t.Errorf("start-up max = %v, want 2s", q.d)
	}
	none := stepLatencies(map[string]time.Time{"a": from}, decided, from, from)
	if q := none.startupQuantile(0.99); q.ok {
		t.Errorf("no lead-in: start-up quantile %v, want none", q)
	}
}

func TestHandlerMeanReadsTheHistogram(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP sluice_processor_handler_seconds Time spent in the handler per record.
# TYPE sluice_processor_handler_seconds histogram
sluice_processor_handler_seconds_bucket{processor="score",le="0.001"} 3
sluice_processor_handler_seconds_sum{processor="score"} 0.9
sluice_processor_handler_seconds_count{processor="score"} 3000
sluice_processor_handler_seconds_sum_other 7
`)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	if got := handlerMean(t.Context(), p); got != 300*time.Microsecond {
		t.Fatalf("handlerMean = %v, want 300µs", got)
	}
}

func TestSummarizeSchedtraceAndGCTrace(t *testing.T) {
	trace := `SCHED 1000ms: gomaxprocs=2 idleprocs=0 threads=9 spinningthreads=0 needspinning=1 idlethreads=1 runqueue=388 [ 220 0 ] schedticks=[ 883 1573 ]
gc 6 @3.601s 2%: 3.0+13+0.039 ms clock, 6.0+0.79/1.5/0+0.079 ms cpu, 18->18->8 MB, 19 MB goal, 0 MB stacks, 0 MB globals, 2 P
some log line
SCHED 2000ms: gomaxprocs=2 idleprocs=2 threads=11 spinningthreads=1 needspinning=0 idlethreads=3 runqueue=2 [ 0 10 ] schedticks=[ 900 1600 ]
gc 7 @4.354s 3%: 2.1+10+0.17 ms clock, 4.2+0.14/1.5/0+0.35 ms cpu, 17->17->9 MB, 18 MB goal, 0 MB stacks, 0 MB globals, 2 P
`
	s := summarizeSchedtrace(trace)
	for _, want := range []string{"(2 lines)", "idleprocs avg 1.00", "threads avg 10.0 max 11", "global runqueue avg 195.0 max 388", "local runqueues (sum over Ps) avg 115.0 max 220"} {
		if !strings.Contains(s, want) {
			t.Errorf("schedtrace summary %q lacks %q", s, want)
		}
	}
	if g := summarizeGCTrace(trace, 2*time.Second); g != "gctrace: 2 collections in 2s (1.0/s); GC's share of CPU since start: 3%" {
		t.Errorf("gctrace summary %q", g)
	}
}

func TestParseRates(t *testing.T) {
	if r, err := parseRates("500, 1000,2000"); err != nil || !slices.Equal(r, []int{500, 1000, 2000}) {
		t.Errorf("parseRates = %v, %v", r, err)
	}
	for _, bad := range []string{"", "500,abc", "1000,500", "0", "-5"} {
		if _, err := parseRates(bad); err == nil || !strings.Contains(err.Error(), "--rates") {
			t.Errorf("parseRates(%q) = %v, want an error naming --rates", bad, err)
		}
	}
}

func TestBadFlagsNameTheFlag(t *testing.T) {
	cases := map[string][]string{
		"--modes":            {"--modes", "key,random"},
		"--partition-stages": {"--partition-stages", "score,status"},
		"--duration":         {"--duration", "1s"},
		"--rates":            {"--rates", "2000,1000"},
		"--partitions":       {"--partitions", "0"},
	}
	for flag, args := range cases {
		var out strings.Builder
		_, err := parseFlags(args, &out)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: err %v, want one naming %s", args, err, flag)
		}
	}
}

func TestQuickShortensOnlyWhatIsNotGiven(t *testing.T) {
	var out strings.Builder
	c, err := parseFlags([]string{"--quick", "--rates", "700", "--workdir", t.TempDir()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.duration != 10*time.Second || !slices.Equal(c.rates, []int{700}) {
		t.Fatalf("--quick --rates 700: duration %s rates %v", c.duration, c.rates)
	}
}
