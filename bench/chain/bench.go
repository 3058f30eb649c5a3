package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bench holds what every step shares: the broker, the built binaries and
// an admin client. Methods run on the main goroutine.
type bench struct {
	cfg     config
	log     io.Writer
	bin     string            // binaries built from the tree the benchmark runs from
	bins    map[string]string // --variant name -> its binaries
	brokers []string
	broker  *broker // nil with --brokers
	client  *kgo.Client
	adm     *kadm.Client
	steps   int
}

func newBench(ctx context.Context, cfg config, log io.Writer) (*bench, error) {
	b := &bench{cfg: cfg, log: log, bin: filepath.Join(cfg.workdir, "bin"), bins: map[string]string{}}
	b.logf("workdir %s; load average at start %s", cfg.workdir, loadAverage())
	if err := b.build(ctx, cfg.root, b.bin); err != nil {
		return nil, err
	}
	for name, dir := range cfg.variants {
		b.bins[name] = filepath.Join(cfg.workdir, "bin-"+name)
		if err := b.build(ctx, dir, b.bins[name]); err != nil {
			return nil, fmt.Errorf("--variant %s: %w", name, err)
		}
	}
	if cfg.brokers != "" {
		b.brokers = splitList(cfg.brokers)
		if err := waitBroker(ctx, b.brokers[0], nil, 30*time.Second); err != nil {
			return nil, fmt.Errorf("--brokers %s: %w", cfg.brokers, err)
		}
	} else {
		b.logf("starting Kafka on the host JVM")
		br, err := startBroker(ctx, cfg.root, cfg.kafkaLibs, cfg.workdir)
		if err != nil {
			return nil, err
		}
		b.broker, b.brokers = br, []string{br.addr}
		b.logf("Kafka at %s (pid %d)", br.addr, br.proc.pid())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.brokers...))
	if err != nil {
		b.close()
		return nil, err
	}
	b.client, b.adm = cl, kadm.NewClient(cl)
	return b, nil
}

// build builds the stages and the loader of the source tree root into dir.
func (b *bench) build(ctx context.Context, root, dir string) error {
	b.logf("building validate, score, decide, loader from %s/cmd", root)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/validate", "./cmd/score", "./cmd/decide", "./cmd/loader")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", root, err, out)
	}
	return nil
}

// binFor returns the directory of the stage binaries mode runs.
func (b *bench) binFor(mode string) string {
	if _, v := splitMode(mode); v != "" {
		return b.bins[v]
	}
	return b.bin
}

func (b *bench) close() {
	if b.client != nil {
		b.client.Close()
	}
	if b.broker != nil {
		b.broker.stop()
		// The log segments are large and of no use afterwards.
		_ = os.RemoveAll(filepath.Join(b.cfg.workdir, "kafka-data"))
	}
	b.logf("load average at end %s", loadAverage())
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s chain: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) brokerList() string { return strings.Join(b.brokers, ",") }

// brokerCPU is the broker's CPU seconds so far, or -1 when it is not ours
// (--brokers).
func (b *bench) brokerCPU() float64 {
	if b.broker == nil {
		return -1
	}
	s, err := cpuSeconds(b.broker.proc.pid())
	if err != nil {
		return -1
	}
	return s
}

// warmUp runs the unreported first step (--warmup): the broker's JVM is
// slow until its JIT has compiled the produce and fetch paths, which would
// make whichever step runs first look worse.
func (b *bench) warmUp(ctx context.Context) error {
	if b.cfg.warmup <= 0 {
		return nil
	}
	b.logf("warm-up: %s mode at 1000 orders/s for %s (not reported)", b.cfg.modes[0], b.cfg.warmup)
	r, err := b.runStep(ctx, b.cfg.modes[0], 1000, stepOptions{duration: b.cfg.warmup})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	b.logf("  warm-up %s", r.summary())
	return nil
}
