// Command chain is the sustained-load benchmark of the order chain: it runs
// validate, score and decide as separate processes (binaries built from
// cmd/, default flags) against a real Kafka 4.x broker on the same machine,
// feeds them orders with cmd/loader at fixed rates, and reports per rate and
// ordering mode the end-to-end latency, the lag, the CPU each stage spends
// per order and whether the lag stayed bounded; it then names the highest
// rate each mode sustains. Run from the repository root:
//
//	go run ./bench/chain               # full step search, ~15 min
//	go run ./bench/chain --quick       # shorter steps, fewer rates
//	go run ./bench/chain --profile     # CPU, mutex, block profiles and schedtrace of score, key vs partition
//
// Run --help for the options and the exact definitions of what is measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chain: %v\nRun go run ./bench/chain --help for the options.\n", err)
		return 2
	}
	b, err := newBench(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chain: %v\n", err)
		return 1
	}
	defer b.close()
	if cfg.profile {
		err = b.runProfile(ctx, stdout)
	} else {
		err = b.runSearch(ctx, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "chain: %v\n(logs and profiles are kept in %s)\n", err, cfg.workdir)
		return 1
	}
	return 0
}
