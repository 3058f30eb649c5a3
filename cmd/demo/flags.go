package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/internal/ports"
	"github.com/sluice-dev/sluice/processors/score"
)

// envPrefix prefixes the environment variable of every flag. It is not the
// processors' SLUICE, so that SLUICE_WORKERS or SLUICE_LOG_LEVEL exported for
// the standalone binaries do not change the demo.
const envPrefix = "SLUICE_DEMO"

const synopsis = `usage: go run ./cmd/demo [options]

Runs the whole Sluice order pipeline in this process, with nothing to
install: an embedded Kafka-compatible broker (kfake) keeping its data in
--data-dir, the sample orders of --orders, the validate, score and decide
processors (consumer groups validate, score and decide, as the standalone
binaries use), the order-status view on --status-addr and the lag
dashboard on --dashboard-addr. With the orders go --poison records that
cannot be read: the runtime sends them to the dead-letter topic orders.dlq
at once, and the summary shows how to inspect and replay them.

It prints one progress line a second, stops by itself once every order has
been decided, then prints a summary and checks that every group committed
exactly up to the end of its input. "decided" counts validate's rejections,
which go to orders.decided without being scored, so it can run ahead of
"scored": the progress line and the summary say by how many. On a terminal
the status view and the dashboard then stay up until you press Enter (or
Ctrl-C); elsewhere (a pipe, CI) the run ends by itself, and --keep-running
keeps everything up, processors included. Exit status 0 means all orders were
decided, every poison record is in orders.dlq and every committed offset
equals its end offset; 1 means they were not or something failed; 2 is a
usage error; 130 means interrupted (run it again to resume: orders and
poison records already produced are never produced twice).

Ctrl-C stops gracefully at any time: processors finish what they fetched,
commit and leave their groups, and the broker saves its data.`

// config is the demo's parsed command line.
type config struct {
	dataDir     string
	fresh       bool
	ordersFile  string
	ordersSet   bool // --orders was given, so a missing file is an error
	generate    int
	seed        int64
	partitions  int
	brokerPort  int
	statusAddr  string
	dashAddr    string // "" disables the dashboard
	poison      int
	modelTrees  int
	workers     int
	keepRunning bool
	logLevel    slog.Level
}

// parseFlags parses args (and SLUICE_DEMO_* variables). It returns
// flag.ErrHelp after printing the help for --help.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var logLevel string
	fs.StringVar(&c.dataDir, "data-dir", ".sluice-demo", "directory the embedded broker keeps topics, records and committed offsets in; a rerun resumes from it")
	fs.BoolVar(&c.fresh, "fresh", false, "delete --data-dir first and start from nothing")
	fs.StringVar(&c.ordersFile, "orders", "testdata/orders.jsonl", "JSON Lines file of orders to produce, relative to the working directory (the format is in testdata/README.md); when the default is missing, the same 5,000 orders are generated instead")
	fs.IntVar(&c.generate, "generate", 0, "generate this many orders with ordergen instead of reading --orders")
	fs.Int64Var(&c.seed, "seed", 42, "ordergen seed for --generate (42 gives the orders of testdata/orders.jsonl)")
	fs.IntVar(&c.partitions, "partitions", 6, "partitions of each topic the demo creates (existing topics are kept as they are)")
	fs.IntVar(&c.brokerPort, "broker-port", 9092, "port of the embedded broker on 127.0.0.1, for kcat or the standalone binaries; if busy, a free port is used and printed")
	statusAddr, _ := ports.Default("demo", "status-addr")
	dashAddr, _ := ports.Default("demo", "dashboard-addr")
	fs.StringVar(&c.statusAddr, "status-addr", statusAddr, "address of the order-status HTTP view (GET /orders/{id}); if busy, a free port is used and printed")
	fs.StringVar(&c.dashAddr, "dashboard-addr", dashAddr, "address of the live lag dashboard (as go run ./cmd/lagmon serves it; Prometheus metrics on /metrics); if busy, a free port is used and printed; empty: no dashboard")
	fs.IntVar(&c.poison, "poison", 5, "unreadable records (JSON, random bytes, another schema, truncated Avro) to produce to orders with the orders, keyed poison-1, poison-2...; they end in orders.dlq (0: none)")
	fs.IntVar(&c.modelTrees, "model-trees", score.DefaultTrees, "trees in the fraud model: the CPU cost of the score stage grows linearly with it")
	fs.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "handlers each processor runs at once (light handlers run on one)")
	fs.BoolVar(&c.keepRunning, "keep-running", false, "after the summary, keep the broker, the processors, the status view and the dashboard up until Ctrl-C")
	fs.StringVar(&logLevel, "log-level", "warn", "level of the processors' logs on stderr: debug, info, warn or error")
	fs.Usage = envflag.Usage(fs, envPrefix, synopsis)
	if err := envflag.Parse(fs, envPrefix, args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (options start with --)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.ordersSet = c.ordersSet || f.Name == "orders" })
	var err error
	if c.logLevel, err = logflag.Parse(logLevel); err != nil {
		return config{}, err
	}
	switch {
	case c.dataDir == "":
		return config{}, errors.New("--data-dir is empty")
	case c.generate < 0:
		return config{}, fmt.Errorf("--generate %d: want a positive count, or 0 to read --orders", c.generate)
	case c.poison < 0:
		return config{}, fmt.Errorf("--poison %d: want a count, or 0 for none", c.poison)
	case c.partitions < 1:
		return config{}, fmt.Errorf("--partitions %d: want at least 1", c.partitions)
	case c.brokerPort < 0 || c.brokerPort > 65535:
		return config{}, fmt.Errorf("--broker-port %d: want 0 (any free port) to 65535", c.brokerPort)
	case c.modelTrees < 1:
		return config{}, fmt.Errorf("--model-trees %d: want at least 1", c.modelTrees)
	case c.workers < 1:
		return config{}, fmt.Errorf("--workers %d: want at least 1", c.workers)
	}
	return c, nil
}
