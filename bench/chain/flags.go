package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const synopsis = `usage: go run ./bench/chain [options]

Sustained-load benchmark of the order chain on real Kafka. It starts a
Kafka 4.x broker on this machine (the host JVM, with the jars that
deploy/kafka/build.sh fetched, and Kafka's default heap: 1 GiB committed
from the start, each collection logged to kafka-gc.log in the workdir; or
uses --brokers), builds validate, score,
decide and loader from cmd/, and for each rate in --rates and each mode in
--modes, interleaved (the modes alternate which goes first at each rate),
after one unreported warm-up step (--warmup) for the broker's JIT:

  1. creates fresh topics for the step (6 partitions): <step>.orders with
     CreateTime, the four output topics with message.timestamp.type=
     LogAppendTime (processors copy the input timestamp onto their outputs;
     the broker's append time is what tells when an output was written);
  2. starts the three stages as separate processes with default flags (only
     brokers, topics, group and metrics address set; in partition mode also
     --ordering partition on the stages in --partition-stages) and waits
     until each stage's group is Stable;
  3. runs loader's generator at --rate for --duration, then waits --settle;
  4. measures:
     latency  per order: the broker append time (LogAppendTime) of its record
              on orders.decided minus its send time, the timestamp the loader's
              producer stamped on the input order when the loader handed it
              over (CreateTime). An order is decided by decide, or by validate
              when it breaks a rule (~3% of generated orders). Orders not
              decided by the end of --settle count as infinitely late: a
              percentile they reach prints as ">Ns" (N: the longest possible).
              Every figure is over the measured window: before it, each
              step runs the loader for --lead-in (5s) at the same rate
              (other order IDs) and waits until the chain has drained it.
              On fresh topics and freshly started stages the broker's
              first second of load is slow (its request handlers used
              ~1.4 cores for ~1.5 s and produce requests took 50-180 ms
              inside the broker, against 0.2 ms afterwards, with no I/O
              wait: JIT deoptimization and recompilation of the append and
              fetch paths for new partitions, producers and groups), which
              a long-running chain pays once. The lead-in's orders are
              reported apart ("start-up"), not left out unseen.
              Each stage's own latency (its output's append time minus its
              input's) is printed per step and written, per order, to
              <step>-latency.csv in the workdir.
     lag      per stage, the sum over its input partitions of end offset
              minus committed offset (kadm), sampled every 50 ms.
     bounded  yes when both hold: 5 s (--settle) after the loader stopped,
              the chain's total lag is at most a tenth of a second of input
              (rate/10 records, at least 50), and over the second half of the
              load the total lag grew by less than 5% of the rate per second
              (least-squares slope of the lag's mean over each whole second:
              the stages commit every second, which makes each stage's lag
              a sawtooth of about rate records, flat over a whole period).
     CPU      per stage process, utime+stime from /proc/<pid>/stat from the
              loader's start to the end of --settle, divided by the records
              that stage committed (its own input: validate sees every order,
              score and decide the ~97% validate passes); the broker and the
              loader per order sent. Machine load: /proc/stat and the load
              average, so the share other processes took is shown.
  5. stops the stages (SIGTERM) and deletes the step's topics.

Where the modes disagree at a rate (one bounded, another not), each runs
there once more, in the reverse order: near the machine's limit the step
that runs first at a new rate has done worse in either mode, and another
user of the machine for part of one step (the "others" column) can decide
a single verdict. A mode stops at its first rate where it was not bounded
in every step, but every rate up to 2,000/s is measured (the acceptance
lines need 1,000 and 2,000 in key mode). It prints a table, the highest
rate each mode was bounded at in every step, key/partition ratios measured
in the same run (a rate run twice pairs first steps, then second ones),
and the two acceptance lines.

--profile instead runs one step per mode at --profile-rate with score's
--pprof-addr set and GODEBUG=schedtrace=1000,gctrace=1, and saves score's
CPU, mutex, block and goroutine profiles, schedtrace and gctrace output
and go tool pprof -top summaries under --workdir.

Output: the tables on stdout, progress on stderr; processes' logs, profiles
and the broker's log stay in --workdir.`

type config struct {
	rates           []int
	modes           []string
	partitionStages []string
	duration        time.Duration
	settle          time.Duration
	leadIn          time.Duration
	warmup          time.Duration
	partitions      int
	brokers         string
	kafkaLibs       string
	workdir         string
	root            string
	variants        map[string]string // --variant name -> source tree

	profile        bool
	profileRate    int
	profileSeconds time.Duration
	profileWarmup  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("chain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c                       config
		rates, modes, partStage string
		quick                   bool
	)
	fs.StringVar(&rates, "rates", "500,1000,2000,3000,4000,6000", "orders per second to try, ascending, comma-separated")
	fs.StringVar(&modes, "modes", "key,partition", "ordering modes to compare: key (the default of every stage) and/or partition; MODE@NAME runs the stages built from --variant NAME")
	fs.StringVar(&partStage, "partition-stages", "validate,score,decide", "stages that get --ordering partition in partition mode")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the loader sends at each rate")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "how long after the loader stops the lag must have drained, and latencies are collected")
	fs.DurationVar(&c.warmup, "warmup", 30*time.Second, "a first step at 1,000 orders/s in the first of --modes, not reported, so the broker's JIT has compiled its hot paths before anything is measured (0: none)")
	fs.DurationVar(&c.leadIn, "lead-in", 5*time.Second, "load at each step's rate before its measured window, drained before the window starts; its orders are reported apart as the start-up figures (0: none, every figure includes the cold start)")
	fs.IntVar(&c.partitions, "partitions", 6, "partitions of every topic (the compose file's and the demo's count)")
	fs.BoolVar(&quick, "quick", false, "shorter run: --duration 10s and --rates 1000,2000,4000 unless given")
	fs.StringVar(&c.brokers, "brokers", "", "use this running Kafka (host:port,...) instead of starting one; it must allow creating and deleting topics")
	fs.StringVar(&c.kafkaLibs, "kafka-libs", "", "directory of the Kafka jars for the broker this starts (default ${SLUICE_CACHE:-~/.cache/sluice}/kafka-<version of deploy/kafka/pom.xml>/libs, filled by deploy/kafka/build.sh)")
	fs.StringVar(&c.workdir, "workdir", "", "directory for binaries, logs, broker data and profiles (default: a new one under $TMPDIR; kept afterwards)")
	c.variants = map[string]string{}
	fs.Func("variant", "NAME=DIR: also build the stages from the Sluice source tree DIR (e.g. a scratch copy with a core change), for modes MODE@NAME; repeatable", func(v string) error {
		name, dir, ok := strings.Cut(v, "=")
		if !ok || name == "" || dir == "" || strings.ContainsAny(name, "@,= ") {
			return fmt.Errorf("want NAME=DIR with a plain NAME, got %q", v)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			return fmt.Errorf("%s: not a source tree with a go.mod: %w", dir, err)
		}
		c.variants[name] = dir
		return nil
	})
	fs.BoolVar(&c.profile, "profile", false, "profile score in key and partition mode at --profile-rate instead of the step search")
	fs.IntVar(&c.profileRate, "profile-rate", 2000, "orders per second of the --profile runs")
	fs.DurationVar(&c.profileSeconds, "profile-seconds", 15*time.Second, "length of the CPU, mutex and block profiles; the load runs --profile-warmup longer")
	fs.DurationVar(&c.profileWarmup, "profile-warmup", 5*time.Second, "load before profiling starts")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nOptions:\n", synopsis)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (options start with --)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if quick {
		if !set["duration"] {
			c.duration = 10 * time.Second
		}
		if !set["rates"] {
			rates = "1000,2000,4000"
		}
		if !set["warmup"] {
			c.warmup = 10 * time.Second
		}
	}
	var err error
	if c.rates, err = parseRates(rates); err != nil {
		return config{}, err
	}
	c.modes = splitList(modes)
	for _, m := range c.modes {
		base, variant, hasVariant := strings.Cut(m, "@")
		if base != modeKey && base != modePartition {
			return config{}, fmt.Errorf("--modes %q: %q is not key or partition (optionally @variant)", modes, m)
		}
		if _, ok := c.variants[variant]; hasVariant && !ok {
			return config{}, fmt.Errorf("--modes %q: %q names variant %q, which no --variant defines", modes, m, variant)
		}
	}
	if len(c.modes) == 0 {
		return config{}, errors.New("--modes is empty: give key, partition or both")
	}
	c.partitionStages = splitList(partStage)
	for _, s := range c.partitionStages {
		if !slices.Contains(stages, s) {
			return config{}, fmt.Errorf("--partition-stages %q: %q is not one of %s", partStage, s, strings.Join(stages, ", "))
		}
	}
	switch {
	case c.duration < 2*time.Second:
		return config{}, fmt.Errorf("--duration %s: want at least 2s (the lag's growth is judged over its second half)", c.duration)
	case c.leadIn < 0:
		return config{}, fmt.Errorf("--lead-in %s: must not be negative", c.leadIn)
	case c.warmup < 0:
		return config{}, fmt.Errorf("--warmup %s: must not be negative", c.warmup)
	case c.settle <= 0:
		return config{}, fmt.Errorf("--settle %s: want a positive duration", c.settle)
	case c.partitions < 1:
		return config{}, fmt.Errorf("--partitions %d: want at least 1", c.partitions)
	case c.profileRate < 1:
		return config{}, fmt.Errorf("--profile-rate %d: want orders per second, at least 1", c.profileRate)
	case c.profileSeconds < time.Second:
		return config{}, fmt.Errorf("--profile-seconds %s: want at least 1s", c.profileSeconds)
	case c.profileWarmup < 0:
		return config{}, fmt.Errorf("--profile-warmup %s: must not be negative", c.profileWarmup)
	}
	if c.root, err = moduleRoot(); err != nil {
		return config{}, err
	}
	if c.workdir == "" {
		if c.workdir, err = os.MkdirTemp("", "sluice-chain-"); err != nil {
			return config{}, fmt.Errorf("--workdir: %w", err)
		}
	} else if err := os.MkdirAll(c.workdir, 0o755); err != nil {
		return config{}, fmt.Errorf("--workdir: %w", err)
	}
	return c, nil
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		r, err := strconv.Atoi(f)
		if err != nil || r < 1 {
			return nil, fmt.Errorf("--rates %q: %q is not a positive whole number of orders per second", s, f)
		}
		if len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("--rates %q: want ascending rates, %d follows %d", s, r, out[len(out)-1])
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--rates %q: give at least one rate", s)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// moduleRoot finds the repository root (the directory of Sluice's go.mod)
// from the working directory up: the binaries are built from its cmd/.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/sluice-dev/sluice\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run from inside the Sluice repository: no go.mod of github.com/sluice-dev/sluice above %s", dir)
		}
	}
}
