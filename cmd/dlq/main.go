// Command dlq lists, inspects, replays and purges Sluice's dead-letter
// topics (<input>.dlq): records a processor gave up on, with the error,
// origin and attempts in their headers.
//
//	dlq list    --topic orders.dlq --error-contains timeout --since "2h ago"
//	dlq inspect --topic orders.dlq --partition 0 --offset 42
//	dlq replay  --topic orders.dlq --to origin --rate 100
//	dlq purge   --topic orders.dlq --before-offset 0:120,1:98
//
// Run dlq --help, or dlq <command> --help, for everything. The logic lives
// in package deadletter; this binary parses flags and prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluice-dev/sluice/internal/signals"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

func main() {
	ctx, stop := signals.Context(context.Background())
	code := run(ctx, os.Args[1:], console{
		in: os.Stdin, out: os.Stdout, err: os.Stderr,
		inTTY: isTerminal(os.Stdin), errTTY: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

// console is where a command reads answers and writes output: stdout for
// results, stderr for progress, prompts and errors.
type console struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	inTTY  bool // stdin is a terminal: prompts can be answered
	errTTY bool // stderr is a terminal: progress can redraw one line
}

const synopsis = `usage: dlq <command> --topic <dlq topic> [options]

Works on Sluice's dead-letter topics. A dead-letter record is the original
record (key, value and headers unchanged) plus error headers: sluice.attempts,
sluice.error.class (poison, retryable, permanent, panic), sluice.error,
sluice.failure.first/last, sluice.origin.topic/partition/offset/timestamp and
sluice.processor, or Kafka Connect's __connect.errors.* headers. The DLQ of
input topic "orders" is "orders.dlq"; its retry tiers are "orders.retry.5s",
"orders.retry.5m" and so on.

Commands:
  list      one line per record (partition/offset, age, attempts, class,
            key, origin, error) and a count
  inspect   everything about each record: all headers, the error, the
            payload decoded from Avro when it can be, else its bytes
  replay    send records back to their origin topic (or its first retry
            tier), exactly once across reruns, with a progress line
  purge     delete records before given offsets (or all), after
            confirmation

list, inspect and replay select records with the same filters:
  --error-contains TEXT  --key KEY  --since TIME  --until TIME
  --partition N[,N...]  --offset N|N-M|N-  --limit N
TIME is RFC 3339 (2025-06-01T12:00:00Z), a date (2025-06-01) or an age
(2h, 90m ago, 3d ago); it is compared with when the record was
dead-lettered (sluice.failure.last, else the record's timestamp).

list and inspect read from the start to the end offsets seen when they
start, then stop; they use no consumer group and change nothing.

Every option has an environment variable: --brokers is SLUICE_BROKERS,
--error-contains is SLUICE_ERROR_CONTAINS. An option on the command line
wins.

Exit status: 0 done, 1 failed or refused, 2 bad usage, 130 interrupted.

Run dlq <command> --help for the command's options.`

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, con console) int {
	if len(args) == 0 {
		fmt.Fprintln(con.err, synopsis)
		return 2
	}
	cmds := map[string]func(context.Context, []string, console, *common) error{
		"list":    runList,
		"inspect": runInspect,
		"replay":  runReplay,
		"purge":   runPurge,
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(con.out, synopsis)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(con.err, "dlq: unknown command %q: want list, inspect, replay or purge (dlq --help explains them)\n", name)
		return 2
	}
	c := &common{}
	err := cmd(ctx, args[1:], con, c)
	var uerr usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(con.err, "dlq %s: %v\nRun dlq %s --help for the options.\n", name, err, name)
		return 2
	case ctx.Err() != nil:
		fmt.Fprintf(con.err, "dlq %s: interrupted\n", name)
		return 130
	}
	fmt.Fprintf(con.err, "dlq %s: %v\n", name, kafkaconn.Classify(err))
	return 1
}
