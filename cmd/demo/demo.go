package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130 // as a shell reports a process ended by SIGINT
)

// run is main without the process: it parses args, runs the demo and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\nRun go run ./cmd/demo --help for the options.\n", err)
		return exitUsage
	}
	con := newConsole(stdout, stderr)
	log := slog.New(slog.NewTextHandler(con.stderr(), &slog.HandlerOptions{Level: c.logLevel}))
	sum, err := demo(ctx, c, con, log)
	switch {
	case err != nil && ctx.Err() != nil && sum == nil:
		con.printf("\nInterrupted while starting up.\n")
		return exitInterrupted
	case err != nil:
		con.errorf("demo: %v\n", err)
		return exitFailed
	}
	return sum.exitStatus()
}

// Intervals of the wait for the pipeline to finish.
const (
	checkEvery    = 200 * time.Millisecond // how often offsets are compared
	progressEvery = time.Second            // how often the progress line changes
)

// demo runs the pipeline on an embedded broker until every order is decided
// and committed, prints the summary and returns it. When ctx ends first, it
// stops everything gracefully and returns an interrupted summary, or
// ctx's error if it was still starting up.
func demo(ctx context.Context, c config, con *console, log *slog.Logger) (*summary, error) {
	began := time.Now()
	if c.fresh {
		if err := removeDataDir(c.dataDir); err != nil {
			return nil, err
		}
	}
	orders, source, err := loadOrders(c)
	if err != nil {
		return nil, err
	}
	set, err := schemas.Load()
	if err != nil {
		return nil, err
	}
	serde, err := schemas.NewSerde(set)
	if err != nil {
		return nil, err
	}

	b, err := startBroker(c.dataDir, c.brokerPort)
	if err != nil {
		return nil, err
	}
	defer b.cluster.Close() // saves the data directory
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := createTopics(ctx, adm, c.partitions); err != nil {
		return nil, err
	}
	sv, err := startStatusView(c.statusAddr, b.addr, serde)
	if err != nil {
		return nil, err
	}
	defer sv.stop()
	printHeader(con, c, b, sv, source, len(orders))

	t, stopTally, err := startTally(ctx, b.addr, serde, log)
	if err != nil {
		return nil, err
	}
	defer stopTally()
	before := t.counts()

	ch, err := startChain(c, b.addr, serde, log)
	if err != nil {
		return nil, err
	}
	procStart := time.Now()
	produced := make(chan produceResult, 1)
	go func() {
		n, err := produceOrders(ctx, cl, serde, orders, func(id string) bool { return t.has(order.TopicPlaced, id) })
		produced <- produceResult{n, err}
	}()
	newOrders, offsets, err := awaitDone(ctx, adm, t, ch, produced, con, began)
	if err != nil {
		stopErr := ch.stop()
		if ctx.Err() != nil {
			return interrupted(con, began, t.counts()), stopErr
		}
		return nil, errors.Join(err, stopErr)
	}

	sum := &summary{
		source:      source,
		before:      before,
		newOrders:   newOrders,
		elapsed:     time.Since(began),
		processed:   time.Since(procStart),
		offsets:     offsets,
		statusURL:   sv.url,
		keepRunning: c.keepRunning,
	}
	if !c.keepRunning {
		// Check again after the graceful stop's final commits.
		if err := ch.stop(); err != nil {
			return nil, err
		}
		if sum.offsets, _, err = checkOffsets(ctx, adm); err != nil {
			return nil, err
		}
	}
	sum.after = t.counts()
	sum.examples = fetchExamples(ctx, sv.url, sum.after.examples)
	con.printf("%s", sum)
	if !c.keepRunning {
		return sum, nil
	}

	con.printf("\nStill running: broker on %s, status view on %s. Press Ctrl-C to stop.\n", b.addr, sv.url)
	select {
	case <-ctx.Done():
	case err := <-ch.failed:
		return nil, errors.Join(err, ch.stop())
	}
	if err := ch.stop(); err != nil {
		return nil, err
	}
	con.printf("Stopped: the processors committed and left their groups; the data is saved in %s.\n", c.dataDir)
	return sum, nil
}

// startTally starts a tally of the broker's topics and returns once it has
// read what previous runs left there. stop stops it and waits for it.
func startTally(ctx context.Context, addr string, serde *schemas.Serde, log *slog.Logger) (t *tally, stop func(), err error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, tallyClientOpts()...)...)
	if err != nil {
		return nil, nil, err
	}
	t = newTally(serde, log)
	followCtx, cancel := context.WithCancel(context.Background())
	caughtUp, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- t.follow(followCtx, cl, func() { close(caughtUp) }) }()
	stop = func() {
		cancel()
		<-done
		cl.Close()
	}
	select {
	case <-caughtUp:
		return t, stop, nil
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	return nil, nil, err
}

type produceResult struct {
	n   int // orders produced
	err error
}

// awaitDone shows progress until the orders are produced, every group has
// committed up to the end of its input and the tally has read everything;
// then it returns how many orders this run produced and the offsets. It
// returns early with an error when ctx ends, a processor fails or producing
// fails; in every case produced has been received from before it returns.
func awaitDone(ctx context.Context, adm *kadm.Client, t *tally, ch *chain, produced <-chan produceResult,
	con *console, began time.Time) (int, []stageOffsets, error) {
	newOrders := -1 // until produced delivers
	defer func() {
		if newOrders < 0 {
			<-produced // produceOrders stops with ctx
		}
	}()
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	lastPrint, lastDecided := time.Now(), t.counts().decided
	for {
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case err := <-ch.failed:
			return 0, nil, err
		case p := <-produced:
			newOrders = p.n
			if p.err != nil {
				return 0, nil, p.err
			}
		case <-check.C:
		}
		offsets, ends, err := checkOffsets(ctx, adm)
		if err != nil {
			continue // the broker is local; the next check will do
		}
		done := newOrders >= 0 && totalLag(offsets) == 0 && t.hasRead(ends)
		if now := time.Now(); done || now.Sub(lastPrint) >= progressEvery {
			cnt := t.counts()
			rate := float64(cnt.decided-lastDecided) / now.Sub(lastPrint).Seconds()
			con.progress(progressLine(now.Sub(began), cnt, rate, totalLag(offsets)))
			lastPrint, lastDecided = now, cnt.decided
		}
		if done {
			return newOrders, offsets, nil
		}
	}
}

func printHeader(con *console, c config, b *broker, sv *statusView, source string, orders int) {
	state := "new"
	if b.resumed {
		state = "resuming the previous run"
	}
	brokerNote, statusNote := "", ""
	if b.note != "" {
		brokerNote = "; " + b.note
	}
	if sv.note != "" {
		statusNote = " (" + sv.note + ")"
	}
	dir, err := filepath.Abs(c.dataDir)
	if err != nil {
		dir = c.dataDir
	}
	con.printf(`Sluice demo: the order pipeline on an embedded Kafka-compatible broker

  broker       %s (kfake%s), data in %s (%s)
  orders       %s orders %s
  processors   validate -> score (%s trees) -> decide, %d workers each
  status view  %s/orders/{id}%s

`, b.addr, brokerNote, dir, state, num(orders), source, num(c.modelTrees), c.workers, sv.url, statusNote)
}

func progressLine(elapsed time.Duration, c counts, rate float64, lag int64) string {
	return fmt.Sprintf("%6.1fs  in %s  validated %s  scored %s  decided %s  %s/s  lag %s",
		elapsed.Seconds(), num(c.placed), num(c.validated), num(c.scored), num(c.decided), num(int(rate+0.5)), num(lag))
}

// interrupted reports how far the demo got when ctx ended.
func interrupted(con *console, began time.Time, c counts) *summary {
	con.printf("\nInterrupted after %.1f s: %s orders in, %s validated, %s scored, %s decided.\n"+
		"The processors committed what they finished. Run the demo again to resume.\n",
		time.Since(began).Seconds(), num(c.placed), num(c.validated), num(c.scored), num(c.decided))
	return &summary{interrupted: true, after: c}
}
