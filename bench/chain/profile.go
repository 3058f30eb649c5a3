package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runProfile runs one step per mode at --profile-rate with score's
// --pprof-addr and GODEBUG=schedtrace=1000,gctrace=1, and saves score's
// profiles over --profile-seconds, taken after --profile-warmup of load.
func (b *bench) runProfile(ctx context.Context, stdout io.Writer) error {
	cfg := b.cfg
	load := cfg.profileWarmup + cfg.profileSeconds + 3*time.Second
	var results []*stepResult
	fmt.Fprintf(stdout, "\n## Profile of score at %d orders/s (profiles over %s after %s of load)\n", cfg.profileRate, cfg.profileSeconds, cfg.profileWarmup)
	fmt.Fprintf(stdout, "\nLoad average at start %s.\n", loadAverage())
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	for _, mode := range cfg.modes {
		dir := filepath.Join(cfg.workdir, "profile-"+mode)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var window logWindow
		b.logf("profile: %s mode at %d orders/s for %s", mode, cfg.profileRate, load)
		r, err := b.runStep(ctx, mode, cfg.profileRate, stepOptions{
			duration: load,
			pprof:    true,
			scoreEnv: []string{"GODEBUG=schedtrace=1000,gctrace=1"},
			during: func(ctx context.Context, c *chain) error {
				return captureProfiles(ctx, c, dir, cfg.profileWarmup, cfg.profileSeconds, &window)
			},
		})
		if err != nil {
			return fmt.Errorf("profile, %s mode: %w", mode, err)
		}
		results = append(results, r)
		b.logf("  %s", r.summary())
		fmt.Fprintf(stdout, "\n### %s mode (%s)\n\n%s\n", mode, r.name, r.summary())
		fmt.Fprintf(stdout, "score: %d goroutines in the middle of the profile\n", window.goroutines)
		trace, err := window.read(filepath.Join(cfg.workdir, r.name+"-score.log"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "score.godebug.txt"), []byte(trace), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, summarizeSchedtrace(trace))
		fmt.Fprintln(stdout, summarizeGCTrace(trace, cfg.profileSeconds))
		for _, p := range []struct {
			name  string
			lines int
		}{{"cpu", 35}, {"mutex", 15}, {"block", 15}} {
			top, err := pprofTop(ctx, filepath.Join(b.binFor(mode), "score"), filepath.Join(dir, "score."+p.name+".pprof"), p.lines)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "score."+p.name+".top.txt"), []byte(top), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n%s profile (go tool pprof -top):\n\n%s", p.name, indent(top))
		}
	}
	fmt.Fprintln(stdout)
	printRatios(stdout, results)
	fmt.Fprintf(stdout, "\nLoad average at end %s. Profiles, their -top summaries and score's schedtrace/gctrace are in %s/profile-<mode>/; e.g.\n", loadAverage(), cfg.workdir)
	fmt.Fprintf(stdout, "  go tool pprof -top %s %s\n", filepath.Join(b.bin, "score"), filepath.Join(cfg.workdir, "profile-key", "score.cpu.pprof"))
	fmt.Fprintf(stdout, "  go tool pprof -peek 'runtime.futex|schedule.*Next' %s %s\n", filepath.Join(b.bin, "score"), filepath.Join(cfg.workdir, "profile-key", "score.cpu.pprof"))
	return nil
}

// logWindow is the part of score's log written while the profiles were
// taken: schedtrace and gctrace lines go to its stderr.
type logWindow struct {
	from, to   int64
	goroutines int
}

func (w logWindow) read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if w.to <= w.from {
		return "", fmt.Errorf("%s: no output recorded during the profiles", path)
	}
	b := make([]byte, w.to-w.from)
	if _, err := f.ReadAt(b, w.from); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return string(b), nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// captureProfiles waits warmup, then takes score's CPU, mutex and block
// profiles over the same seconds, concurrently, and a goroutine profile in
// the middle; it records which part of score's log those seconds wrote.
func captureProfiles(ctx context.Context, c *chain, dir string, warmup, length time.Duration, w *logWindow) error {
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return ctx.Err()
	}
	logPath := c.procs["score"].log.Name()
	w.from = fileSize(logPath)
	secs := strconv.Itoa(int(length.Seconds()))
	base := "http://" + c.pprof + "/debug/pprof/"
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, p := range []struct{ path, file string }{
		{"profile?seconds=" + secs, "score.cpu.pprof"},
		{"mutex?seconds=" + secs, "score.mutex.pprof"},
		{"block?seconds=" + secs, "score.block.pprof"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fetchTo(ctx, base+p.path, filepath.Join(dir, p.file), length+30*time.Second)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-time.After(length / 2):
		case <-ctx.Done():
			return
		}
		errs[3] = fetchTo(ctx, base+"goroutine", filepath.Join(dir, "score.goroutine.pprof"), 30*time.Second)
		if b, err := fetch(ctx, base+"goroutine?debug=1", 30*time.Second); err == nil {
			if m := regexp.MustCompile(`goroutine profile: total (\d+)`).FindSubmatch(b); m != nil {
				w.goroutines, _ = strconv.Atoi(string(m[1]))
			}
		}
	}()
	wg.Wait()
	w.to = fileSize(logPath)
	return errors.Join(errs...)
}

func fetch(ctx context.Context, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b, nil
}

func fetchTo(ctx context.Context, url, path string, timeout time.Duration) error {
	b, err := fetch(ctx, url, timeout)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// pprofTop runs go tool pprof -top on a saved profile.
func pprofTop(ctx context.Context, bin, profile string, lines int) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount="+strconv.Itoa(lines), bin, profile).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w\n%s", profile, err, out)
	}
	return string(out), nil
}

func indent(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		b.WriteString("    " + sc.Text() + "\n")
	}
	return b.String()
}

var (
	schedLine = regexp.MustCompile(`^SCHED \d+ms: (.*)$`)
	schedKV   = regexp.MustCompile(`(\w+)=(\d+)`)
	schedRunq = regexp.MustCompile(`\[([\d ]*)\]`)
	gcLine    = regexp.MustCompile(`^gc \d+ @[\d.]+s (\d+)%:`)
)

// summarizeSchedtrace averages GODEBUG=schedtrace lines: idle Ps, threads,
// spinning threads, and the global and per-P run queues (goroutines ready
// to run but waiting for a P: on a saturated machine, the queueing delay).
func summarizeSchedtrace(trace string) string {
	var n int
	sum := map[string]float64{}
	maxv := map[string]int{}
	var local float64
	var localMax int
	for _, line := range strings.Split(trace, "\n") {
		m := schedLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		n++
		for _, kv := range schedKV.FindAllStringSubmatch(m[1], -1) {
			v, _ := strconv.Atoi(kv[2])
			sum[kv[1]] += float64(v)
			maxv[kv[1]] = max(maxv[kv[1]], v)
		}
		if q := schedRunq.FindStringSubmatch(m[1]); q != nil {
			t := 0
			for _, f := range strings.Fields(q[1]) {
				v, _ := strconv.Atoi(f)
				t += v
			}
			local += float64(t)
			localMax = max(localMax, t)
		}
	}
	if n == 0 {
		return "schedtrace: no SCHED lines in the window"
	}
	avg := func(k string) float64 { return sum[k] / float64(n) }
	return fmt.Sprintf("schedtrace (%d lines): idleprocs avg %.2f; threads avg %.1f max %d; spinningthreads avg %.2f; global runqueue avg %.1f max %d; local runqueues (sum over Ps) avg %.1f max %d",
		n, avg("idleprocs"), avg("threads"), maxv["threads"], avg("spinningthreads"), avg("runqueue"), maxv["runqueue"], local/float64(n), localMax)
}

// summarizeGCTrace counts GODEBUG=gctrace lines (collections in the
// window) and reports the last one's cumulative GC CPU share.
func summarizeGCTrace(trace string, window time.Duration) string {
	n, last := 0, -1
	for _, line := range strings.Split(trace, "\n") {
		if m := gcLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n++
			last, _ = strconv.Atoi(m[1])
		}
	}
	if n == 0 {
		return "gctrace: no collection in the window"
	}
	return fmt.Sprintf("gctrace: %d collections in %s (%.1f/s); GC's share of CPU since start: %d%%", n, window, float64(n)/window.Seconds(), last)
}
