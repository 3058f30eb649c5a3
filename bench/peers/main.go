// Command peers is Sluice's peer benchmark (issue 13): it starts a real
// Kafka 4.x broker on the host JVM, loads each workload's input once, runs
// every contender in its own process against it (fresh consumer group and
// output topic per run, contenders interleaved), measures throughput, CPU
// and memory from outside, checks every run's outputs against its input, and
// writes a table (terminal, Markdown, JSON) and a PNG chart.
//
// Run it through bench/peers/run, which builds the contenders first and
// passes the paths below; see bench/peers/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

func main() {
	var cfg config
	flag.BoolVar(&cfg.quick, "quick", false, "smoke run: small record counts, one run per cell, 60s limit per run")
	flag.IntVar(&cfg.reps, "reps", 0, "runs per cell (default 2; 1 with --quick)")
	flag.StringVar(&cfg.workloads, "workloads", "all", "comma-separated workloads to run (W1,W2,W3,W4)")
	flag.StringVar(&cfg.contenders, "contenders", "all", "comma-separated contenders to run (see bench/peers/README.md)")
	flag.StringVar(&cfg.records, "records", "", "override record counts, e.g. W3=200000,W4=20000")
	flag.StringVar(&cfg.out, "out", "", "directory for peers.md, peers.png, runs.json and logs/ (required)")
	flag.StringVar(&cfg.kafkaLibs, "kafka-libs", "", "directory of the broker's jars (required)")
	flag.StringVar(&cfg.kafkaVersion, "kafka-version", "", "the broker's Kafka version, for the table (required)")
	flag.StringVar(&cfg.log4j, "log4j", "", "broker log4j2 config (required)")
	flag.StringVar(&cfg.paths.Bin, "bin", "", "directory of the built Go contenders (required)")
	flag.StringVar(&cfg.paths.Java, "java", "", "bench/peers/java, built with mvn package (required)")
	flag.StringVar(&cfg.jvmOpts, "jvm-opts", "-Xmx1g", "JVM flags for the Java contenders")
	flag.DurationVar(&cfg.commitInterval, "commit-interval", 200*time.Millisecond, "commit interval for every contender that commits periodically")
	flag.StringVar(&cfg.sluiceVersion, "sluice-version", "unknown", "the Sluice commit measured, for the table")
	flag.Parse()
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		flag.Usage()
		os.Exit(2)
	}
	cfg.paths.JavaOpts = append(strings.Fields(cfg.jvmOpts), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
	cfg.command = strings.Join(os.Args, " ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

type config struct {
	quick                 bool
	reps                  int
	workloads, contenders string
	records               string
	out                   string
	kafkaLibs, log4j      string
	kafkaVersion          string
	paths                 contender.Paths
	jvmOpts               string
	commitInterval        time.Duration
	sluiceVersion         string
	command               string

	ws []workload.Workload
	cs []contender.Contender
}

func (c *config) check() error {
	for name, v := range map[string]string{"out": c.out, "kafka-libs": c.kafkaLibs, "kafka-version": c.kafkaVersion,
		"log4j": c.log4j, "bin": c.paths.Bin, "java": c.paths.Java} {
		if v == "" {
			return fmt.Errorf("--%s is required (bench/peers/run passes it)", name)
		}
	}
	if c.reps == 0 {
		c.reps = 2
		if c.quick {
			c.reps = 1
		}
	}
	if c.reps < 1 {
		return fmt.Errorf("--reps=%d: want at least 1", c.reps)
	}
	if c.commitInterval <= 0 {
		return fmt.Errorf("--commit-interval=%s: want more than 0", c.commitInterval)
	}
	ws, err := workload.Select(workload.All(c.quick), c.workloads)
	if err != nil {
		return err
	}
	if ws, err = overrideRecords(ws, c.records); err != nil {
		return err
	}
	cs, err := contender.Select(contender.All(), c.contenders)
	if err != nil {
		return err
	}
	c.ws, c.cs = ws, cs
	return nil
}

func overrideRecords(ws []workload.Workload, spec string) ([]workload.Workload, error) {
	if spec == "" {
		return ws, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		name, n, ok := strings.Cut(kv, "=")
		var count int64
		if _, err := fmt.Sscan(n, &count); !ok || err != nil || count < 1 {
			return nil, fmt.Errorf("--records: %q: want NAME=COUNT with COUNT ≥ 1, e.g. W4=20000", kv)
		}
		found := false
		for i := range ws {
			if strings.EqualFold(ws[i].Name, name) {
				ws[i].Records, found = count, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--records: workload %q is not among those selected", name)
		}
	}
	return ws, nil
}
