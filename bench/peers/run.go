package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/broker"
	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/measure"
	"github.com/sluice-dev/sluice/bench/peers/internal/outputs"
	"github.com/sluice-dev/sluice/bench/peers/internal/records"
	"github.com/sluice-dev/sluice/bench/peers/internal/report"
	"github.com/sluice-dev/sluice/bench/peers/internal/spec"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// calibrationTarget is the handler cost of the CPU-bound workloads.
const calibrationTarget = 200 * time.Microsecond

func run(ctx context.Context, cfg config) error {
	logs := filepath.Join(cfg.out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	for _, w := range cfg.ws {
		if w.CPU != 0 && w.CPU != calibrationTarget {
			return fmt.Errorf("workload %s: handler cost %s, but only %s is calibrated", w.Name, w.CPU, calibrationTarget)
		}
	}
	meta := report.Meta{Date: time.Now(), Command: cfg.command, Quick: cfg.quick, Reps: cfg.reps, Machine: machine(),
		Workloads: cfg.ws, Contenders: cfg.cs}

	say("calibrating the handler (%s of CPU per call) in Go and Java", calibrationTarget)
	measureFor := time.Second
	if cfg.quick {
		measureFor = 300 * time.Millisecond
	}
	gk, gper, err := work.Calibrate(records.Value(42), calibrationTarget, measureFor)
	if err != nil {
		return fmt.Errorf("calibrate Go handler: %w", err)
	}
	jk, jper, err := calibrateJava(ctx, cfg.paths, measureFor)
	if err != nil {
		return err
	}
	meta.Calibration = []report.Calibration{{Lang: contender.Go, K: gk, PerCall: gper, Target: calibrationTarget}, {Lang: contender.Java, K: jk, PerCall: jper, Target: calibrationTarget}}
	ks := map[contender.Language]int{contender.Go: gk, contender.Java: jk}
	for _, c := range meta.Calibration {
		say("  %s: K=%d, %.1f µs CPU per call", c.Lang, c.K, float64(c.PerCall)/1e3)
	}
	meta.Versions = versions(cfg)
	meta.Settings = []string{
		fmt.Sprintf("commit interval %s for every contender that commits periodically (Sluice, franz-go loop, Parallel Consumer, Kafka Streams, Watermill's Sarama auto-commit)", cfg.commitInterval),
		"JVM flags: " + strings.Join(cfg.paths.JavaOpts, " "),
		"other client settings are each library's defaults, except acks=all where a producer defaults to less (Watermill's Sarama)",
		"rec/s is over the processing window: from the poll (every 25 ms) that saw the consumer group Stable with a member to the poll that saw its committed offsets at the input's end offsets; startup (process start to group joined) is reported apart",
		"CPU: the contender process's user+system time over that window (/proc/<pid>/stat), all threads; broker CPU likewise",
	}

	say("starting Kafka %s from %s", cfg.kafkaVersion, cfg.kafkaLibs)
	workDir, err := os.MkdirTemp("", "sluice-peers-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(workDir)
	b, err := broker.Start(ctx, broker.Config{Libs: cfg.kafkaLibs, Log4j: cfg.log4j, Dir: filepath.Join(workDir, "broker")})
	if err != nil {
		return err
	}
	defer b.Stop()
	say("broker at %s (pid %d, log %s)", b.Addr, b.Pid(), b.LogPath())
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	env := measure.Env{Admin: adm, BrokerPid: b.Pid()}
	brokers := []string{b.Addr}

	var runs []report.Run
	save := func() error {
		f, err := os.Create(filepath.Join(cfg.out, "runs.json"))
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Meta report.Meta
			Runs []report.Run
		}{meta, runs}); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	for _, w := range cfg.ws {
		say("%s: loading", w)
		t0 := time.Now()
		in, err := workload.Load(ctx, brokers, w, "in-"+w.Name)
		if err != nil {
			return err
		}
		say("%s: loaded %d records in %s", w.Name, w.Records, time.Since(t0).Round(time.Millisecond))
		for _, c := range cfg.cs {
			if c.Unavailable != "" {
				runs = append(runs, report.Run{Workload: w.Name, Contender: c.Name, Result: measure.Result{Status: measure.Skipped, Err: c.Unavailable}})
			}
		}
		for rep := 1; rep <= cfg.reps; rep++ {
			for _, c := range cfg.cs {
				if c.Unavailable != "" {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				k := 0
				if w.CPU > 0 {
					k = ks[c.Lang]
				}
				r := runOne(ctx, env, cfg, brokers, in, c, rep, k, logs)
				runs = append(runs, r)
				if err := save(); err != nil {
					return fmt.Errorf("save runs: %w", err)
				}
			}
		}
	}

	cells := report.Cells(cfg.ws, cfg.cs, runs)
	if err := report.Text(os.Stdout, meta, cells); err != nil {
		return err
	}
	png := filepath.Join(cfg.out, "peers.png")
	if err := report.Chart(png, cfg.ws, cfg.cs, cells); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(cfg.out, "peers.md"))
	if err != nil {
		return err
	}
	if err := report.Markdown(f, meta, cells, "peers.png"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	say("wrote %s, %s and %s", filepath.Join(cfg.out, "peers.md"), png, filepath.Join(cfg.out, "runs.json"))
	// A smoke run in CI must fail when a contender failed or broke a
	// promise; a timeout is a result, not a failure.
	var bad []string
	for _, r := range runs {
		if r.Result.Status == measure.Failed || len(r.Problems) > 0 {
			bad = append(bad, fmt.Sprintf("%s %s run %d", r.Workload, r.Contender, r.Rep))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d runs failed or did not pass the output check: %s (see the table and %s)", len(bad), strings.Join(bad, ", "), logs)
	}
	return nil
}

// runOne runs contender c once on in, with a fresh group and output topic.
func runOne(ctx context.Context, env measure.Env, cfg config, brokers []string, in *workload.Input, c contender.Contender, rep, k int, logs string) report.Run {
	group := fmt.Sprintf("%s-%s-r%d", in.Name, c.Name, rep)
	output := "out-" + group
	r := report.Run{Workload: in.Name, Contender: c.Name, Rep: rep}
	if _, err := env.Admin.CreateTopic(ctx, in.Partitions, 1, nil, output); err != nil {
		r.Result = measure.Result{Status: measure.Failed, Err: fmt.Sprintf("create output topic %s: %v", output, err)}
		return r
	}
	defer func() {
		if _, err := env.Admin.DeleteTopic(context.Background(), output); err != nil {
			say("  delete %s: %v", output, err)
		}
	}()
	common := spec.Common{Brokers: strings.Join(brokers, ","), Input: in.Topic, Output: output, Group: group,
		K: k, Sleep: in.Sleep, CommitInterval: cfg.commitInterval}
	cmd := c.Command(cfg.paths, in.Workload, common)
	r.Result = measure.Run(ctx, env, cmd, in, group, output, filepath.Join(logs, group+".log"))
	t0 := time.Now()
	check, err := outputs.Read(ctx, brokers, output, in, r.Result.Committed, k)
	checkTime := time.Since(t0)
	if err != nil {
		r.CheckErr = err.Error()
	}
	r.Check = check
	r.Judge(c)

	line := fmt.Sprintf("%s %-16s run %d: %s", in.Name, c.Name, rep, r.Result.Status)
	if r.Result.Status == measure.OK || r.Result.Status == measure.Timeout {
		line += fmt.Sprintf(", %.0f rec/s over %.2fs, CPU %.0f ms/1k rec, RSS %d MiB, startup %.1fs",
			r.Result.Rate, r.Result.Window.Seconds(), r.Result.CPU.Seconds()*1e6/float64(max(r.Result.Done, 1)),
			r.Result.PeakRSS>>20, r.Result.Startup.Seconds())
	}
	line += fmt.Sprintf("; outputs %d, dup %d, missing %d, pending %d, keys reordered %d; stopped in %.1fs, checked in %.1fs",
		check.Outputs, check.Duplicates, check.Missing, check.Pending, check.ReorderedKeys, r.Result.Shutdown.Seconds(), checkTime.Seconds())
	if r.Result.Killed {
		line += " (did not exit on SIGTERM within 30s: killed)"
	}
	if len(r.Problems) > 0 {
		line += "; PROBLEMS: " + strings.Join(r.Problems, ", ")
	}
	say("%s", line)
	if r.Result.Err != "" && r.Result.Status != measure.OK {
		say("  %s", r.Result.Err)
	}
	return r
}

func calibrateJava(ctx context.Context, p contender.Paths, measureFor time.Duration) (int, time.Duration, error) {
	cp := filepath.Join(p.Java, "handler", "target", "handler-1.jar")
	cmd := exec.CommandContext(ctx, "java", append(append([]string{}, p.JavaOpts...), "-cp", cp, "dev.sluice.bench.peers.Calibrate",
		fmt.Sprint(calibrationTarget.Microseconds()), fmt.Sprint(measureFor.Milliseconds()))...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("calibrate Java handler (%s): %w", strings.Join(cmd.Args, " "), err)
	}
	var res struct {
		K         int     `json:"k"`
		UsPerCall float64 `json:"us_per_call"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.K < 1 {
		return 0, 0, fmt.Errorf("calibrate Java handler: output %q: want {\"k\":N,\"us_per_call\":X} (%v)", out, err)
	}
	return res.K, time.Duration(res.UsPerCall * 1e3), nil
}

func versions(cfg config) [][2]string {
	v := [][2]string{{"Kafka broker", cfg.kafkaVersion}, {"Sluice", cfg.sluiceVersion}, {"Go", runtime.Version()}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/twmb/franz-go", "github.com/ThreeDotsLabs/watermill", "github.com/ThreeDotsLabs/watermill-kafka/v3", "github.com/IBM/sarama":
				v = append(v, [2]string{m.Path[strings.LastIndex(strings.TrimSuffix(m.Path, "/v3"), "/")+1:], m.Version})
			}
		}
	}
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		v = append(v, [2]string{"Java", strings.TrimSpace(first)})
	}
	jar := func(module, prefix string) string {
		m, _ := filepath.Glob(filepath.Join(cfg.paths.Java, module, "target", "lib", prefix+"-*.jar"))
		for _, f := range m {
			rest := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), prefix+"-"), ".jar")
			if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				return rest
			}
		}
		return "?"
	}
	return append(v,
		[2]string{"Kafka Streams", jar("streams", "kafka-streams")},
		[2]string{"Parallel Consumer", jar("parallel", "parallel-consumer-core") + " (on kafka-clients " + jar("parallel", "kafka-clients") + ")"})
}

func machine() string {
	model, mem := "unknown CPU", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				mem = fmt.Sprintf(", %d GiB RAM", (kb+(1<<19))>>20)
			}
		}
	}
	return fmt.Sprintf("%d cores (nproc), %s%s, %s/%s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
