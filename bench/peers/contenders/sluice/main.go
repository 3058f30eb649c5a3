// Command sluice is the benchmark's Sluice contender: a pipeline.Processor
// in the ordering mode given, running work.Apply and producing one output
// per input, until SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/spec"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
	"github.com/sluice-dev/sluice/pipeline"
)

func main() {
	var c spec.Common
	fs := flag.NewFlagSet("sluice", flag.ExitOnError)
	c.Register(fs)
	ordering := fs.String("ordering", "key", "key, partition or unordered")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "pipeline.Workers")
	guarantee := fs.String("guarantee", "at-least-once", "at-least-once or exactly-once")
	_ = fs.Parse(os.Args[1:])
	if err := run(c, *ordering, *workers, *guarantee); err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
}

func run(c spec.Common, ordering string, workers int, guarantee string) error {
	if err := c.Check(); err != nil {
		return err
	}
	o, err := pipeline.ParseOrdering(ordering)
	if err != nil {
		return fmt.Errorf("--ordering: %w", err)
	}
	var eos []pipeline.Option
	switch guarantee {
	case "at-least-once":
	case "exactly-once":
		eos = append(eos, pipeline.ExactlyOnce())
	default:
		return fmt.Errorf("--guarantee=%s: want at-least-once or exactly-once", guarantee)
	}
	handler := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		return []pipeline.Output{{Topic: c.Output, Key: r.Key, Value: work.Apply(r.Value, c.K, c.Sleep)}}, nil
	}
	p, err := pipeline.New(c.Group, handler, append(eos,
		pipeline.Topics(c.Input),
		pipeline.OrderBy(o),
		pipeline.Workers(workers),
		pipeline.CommitInterval(c.CommitInterval),
		pipeline.ClientOptions(kgo.SeedBrokers(c.BrokerList()...)),
		pipeline.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)...)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return p.Run(ctx)
}
