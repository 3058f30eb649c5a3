package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// stepResult is what one step measured.
type stepResult struct {
	name    string
	mode    string
	rate    int
	load    time.Duration // how long the loader ran
	lat     latencies
	verdict verdict
	samples []lagSample

	// CPU seconds from the loader's start to the end of the settle window.
	stageCPU   [3]float64
	brokerCPU  float64 // -1 when the broker is not ours
	loaderCPU  float64
	harnessCPU float64
	window     time.Duration
	// Machine-wide busy cores over the window and the load average
	// before and after it.
	machineBusy         float64
	loadBefore, loadEnd string
	handlerMean         [3]time.Duration // from each stage's sluice_processor_handler_seconds
	stopErr             error            // a stage that did not stop cleanly (reported, not fatal)
}

// cpuPerRecord is stage i's CPU per record it committed, in seconds.
func (r *stepResult) cpuPerRecord(i int) float64 {
	if n := r.verdict.final.committed[i]; n > 0 {
		return r.stageCPU[i] / float64(n)
	}
	return 0
}

// otherCores is the machine's busy cores that none of the benchmark's
// processes account for: other users of the machine.
func (r *stepResult) otherCores() float64 {
	ours := r.stageCPU[0] + r.stageCPU[1] + r.stageCPU[2] + r.loaderCPU + r.harnessCPU
	if r.brokerCPU > 0 {
		ours += r.brokerCPU
	}
	return r.machineBusy - ours/r.window.Seconds()
}

// stepOptions vary a step for profiling.
type stepOptions struct {
	duration time.Duration
	scoreEnv []string // extra environment of score
	pprof    bool     // give score a --pprof-addr
	// during, if set, runs while the loader runs, from its start; the
	// step waits for it before stopping the stages.
	during func(ctx context.Context, c *chain) error
}

// runStep runs one step: fresh topics, the three stages, the loader at
// rate for o.duration, the settle window, the measurements.
func (b *bench) runStep(ctx context.Context, mode string, rate int, o stepOptions) (*stepResult, error) {
	b.steps++
	c := &chain{prefix: fmt.Sprintf("s%02d-%s-%d", b.steps, strings.ReplaceAll(mode, "@", "-"), rate)}
	r := &stepResult{name: c.prefix, mode: mode, rate: rate}
	if o.pprof {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		c.pprof = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	}
	if err := c.createTopics(ctx, b.adm, b.cfg.partitions); err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.deleteTopics(dctx, b.adm); err != nil {
			b.logf("%s: %v", c.prefix, err)
		}
	}()
	if err := c.start(b.binFor(mode), b.cfg.workdir, b.brokerList(), mode, b.cfg.partitionStages, o.scoreEnv); err != nil {
		return nil, err
	}
	defer c.stop()
	if err := c.waitStable(ctx, b.adm, 90*time.Second); err != nil {
		return nil, err
	}
	if err := b.leadIn(ctx, c, rate); err != nil {
		return nil, err
	}

	// Everything below is the measured window: from the loader's start to
	// the end of the settle window.
	var cpu0 [3]float64
	for i, s := range stages {
		v, err := cpuSeconds(c.procs[s].pid())
		if err != nil {
			return nil, err
		}
		cpu0[i] = v
	}
	broker0, self0 := b.brokerCPU(), selfCPU()
	mach0, err := readMachineCPU()
	if err != nil {
		return nil, err
	}
	r.loadBefore = loadAverage()
	start := time.Now()
	loader, err := b.startLoader(c, rate, o.duration, 42, "loader") // the loader's default seed
	if err != nil {
		return nil, err
	}
	loader.name = "loader"
	defer loader.stop(syscall.SIGKILL, time.Second)

	var (
		mu      sync.Mutex
		samples []lagSample
		lagErr  error
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(lagEvery)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
			qctx, cancel := context.WithTimeout(sampleCtx, 2*time.Second)
			s, err := c.sampleLag(qctx, b.adm)
			cancel()
			mu.Lock()
			if err == nil {
				s.at = time.Since(start)
				samples = append(samples, s)
			} else if sampleCtx.Err() == nil {
				lagErr = err
			}
			mu.Unlock()
		}
	}()
	defer func() { stopSampling(); wg.Wait() }()
	var duringErr error
	duringDone := make(chan struct{})
	if o.during != nil {
		go func() { defer close(duringDone); duringErr = o.during(ctx, c) }()
	} else {
		close(duringDone)
	}

	// Wait for the loader, watching that no stage died meanwhile.
	for waiting := true; waiting; {
		select {
		case <-loader.done:
			waiting = false
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
			if err := c.checkRunning(); err != nil {
				return nil, err
			}
		}
	}
	r.load = time.Since(start)
	if err := loader.wait(); err != nil {
		return nil, fmt.Errorf("loader failed: %w (log: %s-loader.log in the workdir)", err, c.prefix)
	}
	if ps := loader.cmd.ProcessState; ps != nil {
		r.loaderCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	select {
	case <-time.After(b.cfg.settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-duringDone
	if duringErr != nil {
		return nil, duringErr
	}
	stopSampling()
	wg.Wait()
	cutoff := time.Now()
	final, err := c.sampleLag(ctx, b.adm)
	if err != nil {
		return nil, fmt.Errorf("final lag: %w", err)
	}
	final.at = time.Since(start)
	r.window = time.Since(start)
	for i, s := range stages {
		v, err := cpuSeconds(c.procs[s].pid())
		if err != nil {
			return nil, err
		}
		r.stageCPU[i] = v - cpu0[i]
		r.handlerMean[i] = handlerMean(ctx, c.ports[s])
	}
	if broker0 >= 0 {
		r.brokerCPU = b.brokerCPU() - broker0
	} else {
		r.brokerCPU = -1
	}
	r.harnessCPU = selfCPU() - self0
	mach1, err := readMachineCPU()
	if err != nil {
		return nil, err
	}
	if dt := mach1.total - mach0.total; dt > 0 {
		r.machineBusy = float64(mach1.busy-mach0.busy) / float64(dt) * float64(runtime.NumCPU())
	}
	r.loadEnd = loadAverage()
	if err := c.checkRunning(); err != nil {
		return nil, err
	}
	r.stopErr = c.stop()

	mu.Lock()
	r.samples = append(samples, final)
	if len(samples) == 0 && lagErr != nil {
		mu.Unlock()
		return nil, fmt.Errorf("no lag sample during the load: %w", lagErr)
	}
	mu.Unlock()
	r.verdict = judge(r.samples, r.load, rate)
	r.lat, err = readLatencies(ctx, b.brokers, b.adm, c.topic(order.TopicPlaced), c.topic(order.TopicValidated), c.topic(order.TopicScored), c.topic(order.TopicDecided), cutoff, start)
	if err != nil {
		return nil, err
	}
	if err := r.lat.writeTrace(filepath.Join(b.cfg.workdir, c.prefix+"-latency.csv")); err != nil {
		b.logf("cannot write the latency trace: %v", err)
	}
	return r, nil
}

// leadIn runs the loader at rate for --lead-in, with order IDs of their own
// (another --seed), and waits until the chain has drained it: the measured
// window then starts on a chain that has run, as a long-running one has.
// The first load on fresh topics and freshly started stages is slow for
// about a second and a half on the broker's side (see the --help text);
// the lead-in's orders are reported as the start-up figures. A rate the
// chain cannot drain is measured on top of the backlog left.
func (b *bench) leadIn(ctx context.Context, c *chain, rate int) error {
	if b.cfg.leadIn <= 0 {
		return nil
	}
	p, err := b.startLoader(c, rate, b.cfg.leadIn, 1000+b.steps, "lead-in")
	if err != nil {
		return err
	}
	p.name = "lead-in loader"
	defer p.stop(syscall.SIGKILL, time.Second)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.wait(); err != nil {
		return fmt.Errorf("lead-in loader failed: %w (log: %s-lead-in.log in the workdir)", err, c.prefix)
	}
	deadline := time.Now().Add(b.cfg.settle + 10*time.Second)
	for {
		if err := c.checkRunning(); err != nil {
			return err
		}
		s, err := c.sampleLag(ctx, b.adm)
		if err == nil && s.total() == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			// Beyond the chain from the start: measured anyway, on top of
			// the backlog, which the verdict will show.
			b.logf("  %s: lead-in not drained after %s (lag %v, err %v); measuring on top of it", c.prefix, b.cfg.settle+10*time.Second, s.lag, err)
			return nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startLoader starts the loader's generator on c's input at rate for d,
// with generator seed seed (order IDs carry it), logging to
// <step>-<logName>.log in the workdir.
func (b *bench) startLoader(c *chain, rate int, d time.Duration, seed int, logName string) (*proc, error) {
	return startProc(filepath.Join(b.bin, "loader"), []string{
		"--brokers", b.brokerList(), "--topic", c.topic(order.TopicPlaced),
		"--duration", d.String(), "--rate", strconv.Itoa(rate), "--seed", strconv.Itoa(seed),
		"--progress-interval", "0", "--log-level", "warn",
	}, nil, filepath.Join(b.cfg.workdir, c.prefix+"-"+logName+".log"))
}

func selfCPU() float64 {
	v, err := cpuSeconds(os.Getpid())
	if err != nil {
		return 0
	}
	return v
}

// handlerMean reads a stage's mean handler time from its /metrics
// (sluice_processor_handler_seconds sum over count); 0 if unavailable.
func handlerMean(ctx context.Context, port int) time.Duration {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum, count float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			name, rest, _ = strings.Cut(line, " ")
		} else if _, rest, ok = strings.Cut(rest, "} "); !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		switch name {
		case "sluice_processor_handler_seconds_sum":
			sum += v
		case "sluice_processor_handler_seconds_count":
			count += v
		}
	}
	if count == 0 {
		return 0
	}
	return time.Duration(sum / count * float64(time.Second))
}
