// Command lagmon watches Kafka consumer groups through the admin API and
// reports their lag in records and in seconds, with a Burrow-style status
// per group. It has two modes:
//
//	lagmon [serve] [options]   Prometheus /metrics (kafka_exporter's names)
//	                           and a live web dashboard on --listen
//	lagmon lag [--watch]       a table like kafka-consumer-groups --describe,
//	                           plus seconds behind and status
//
// Run either with --help for the options. The logic lives in lag/...; this
// is flags and wiring.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sluice-dev/sluice/internal/signals"
)

// envPrefix prefixes the environment variable of every flag, as for the
// processors: SLUICE_BROKERS serves them all.
const envPrefix = "SLUICE"

func main() {
	ctx, stop := signals.Context(context.Background())
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "lagmon:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(ctx, args[1:], stderr)
		case "lag":
			return lag(ctx, args[1:], stdout, stderr)
		case "help":
			// Serving is the default mode: its help is lagmon's, and
			// names the other mode.
			return serve(ctx, []string{"--help"}, stderr)
		}
	}
	return serve(ctx, args, stderr)
}
