// Command loader puts records into a Kafka topic: rows of JSON Lines or CSV
// files (or stdin) mapped onto one of Sluice's Avro schemas, or synthetic
// orders from the reference generator. Run --help for the options; package
// loader holds the logic.
//
//	loader --brokers 127.0.0.1:9092 testdata/orders.jsonl
//	loader --count 1000000 --rate 5000 --poison-rate 0.01
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/sluice-dev/sluice/internal/signals"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Records are short-lived garbage made at up to a million a second;
		// collecting a quarter as often is worth about 15% of throughput,
		// for a heap that stays in the tens of megabytes.
		debug.SetGCPercent(400)
	}
	ctx, stop := signals.Context(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
