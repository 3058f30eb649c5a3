// Command demo runs the whole order pipeline on one machine with nothing to
// install: an embedded Kafka-compatible broker (kfake) that keeps its data in
// .sluice-demo/, the sample orders from testdata/orders.jsonl, the validate,
// score and decide processors and the order-status HTTP view, all in this
// process. It shows progress while the orders flow, stops by itself once
// every order is decided, and prints what happened:
//
//	go run ./cmd/demo
//
// Run it again and it resumes from the data directory: orders already
// produced are not produced twice. Run --help for the options.
package main

import (
	"context"
	"os"

	"github.com/sluice-dev/sluice/internal/signals"
)

func main() {
	ctx, stop := signals.Context(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
