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
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\nRun go run ./cmd/demo --help for the options.\n", err)
		return exitUsage
	}
	con := newConsole(stdout, stderr)
	if con.tty && isTerminal(stdin) {
		con.enter = stdin
	}
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

// demo runs the pipeline on an embedded broker until every order is decided,
// every poison record dead-lettered and everything committed, prints the
// summary and returns it. When ctx ends first, it stops everything
// gracefully and returns an interrupted summary, or ctx's error if it was
// still starting up.
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
	serde, err := schemas.NewDefaultSerde()
	if err != nil {
		return nil, err
	}
	poison, err := poisonRecords(ctx, serde, c.seed, c.poison)
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
	dash, err := startDashboard(c.dashAddr, b.addr, log)
	if err != nil {
		return nil, err
	}
	defer dash.stop()
	printHeader(con, c, b, sv, dash, source, len(orders))

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
		n, err := produceOrders(ctx, cl, serde, orders, poison, func(key string) bool { return t.has(order.TopicPlaced, key) })
		produced <- produceResult{n, err}
	}()
	newRecords, offsets, err := awaitDone(ctx, adm, t, ch, produced, con, began)
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
		newOrders:   newRecords.orders,
		newPoison:   newRecords.poison,
		elapsed:     time.Since(began),
		processed:   time.Since(procStart),
		offsets:     offsets,
		brokerAddr:  b.addr,
		statusURL:   sv.url,
		keepRunning: c.keepRunning,
		untilEnter:  !c.keepRunning && con.enter != nil,
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
		if sum.untilEnter {
			views := "The status view " + sv.url
			if dash.url != "" {
				views += " and the dashboard " + dash.url + "/"
			}
			con.printf("\n%s stay up so you can look around (the processors have stopped; --keep-running keeps them too).\nPress Enter or Ctrl-C to end.\n", views)
			con.waitForEnter(ctx)
		}
		return sum, nil
	}

	dashNote := ""
	if dash.url != "" {
		dashNote = fmt.Sprintf(", dashboard on %s/", dash.url)
	}
	con.printf("\nStill running: broker on %s, status view on %s%s. Press Ctrl-C to stop.\n", b.addr, sv.url, dashNote)
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
	n   sent
	err error
}

// settleGrace is how long awaitDone waits, once nothing is left to commit,
// for the tally to count every order decided and every poison record
// dead-lettered. The end offsets are listed a moment before the committed
// offsets are fetched, so a record produced in between (to orders.dlq,
// say) can already be committed past while the ends the tally is checked
// against do not cover it yet. The wait is bounded because an order the
// pipeline gave up on is never decided: the summary should say so, not hang.
const settleGrace = 2 * time.Second

// awaitDone shows progress until the records are produced, every group has
// committed up to the end of its input, the tally has read everything and
// accounts for every order and poison record (or settleGrace has passed);
// then it returns what this run produced and the offsets. It returns early
// with an error when ctx ends, a processor fails or producing fails; in
// every case produced has been received from before it returns.
func awaitDone(ctx context.Context, adm *kadm.Client, t *tally, ch *running, produced <-chan produceResult,
	con *console, began time.Time) (sent, []stageOffsets, error) {
	var newRecords sent
	delivered := false
	defer func() {
		if !delivered {
			<-produced // produceOrders stops with ctx
		}
	}()
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	lastPrint, lastDecided := time.Now(), t.counts().decided
	var settledAt time.Time // when nothing was left to commit, zero while something is
	for {
		select {
		case <-ctx.Done():
			return sent{}, nil, ctx.Err()
		case err := <-ch.failed:
			return sent{}, nil, err
		case p := <-produced:
			newRecords, delivered = p.n, true
			if p.err != nil {
				return sent{}, nil, p.err
			}
		case <-check.C:
		}
		offsets, ends, err := checkOffsets(ctx, adm)
		if err != nil {
			continue // the broker is local; the next check will do
		}
		now, cnt := time.Now(), t.counts()
		settled := delivered && totalLag(offsets) == 0 && t.hasRead(ends)
		switch {
		case !settled:
			settledAt = time.Time{}
		case settledAt.IsZero():
			settledAt = now
		}
		done := settled && (cnt.accountedFor() || now.Sub(settledAt) >= settleGrace)
		if done || now.Sub(lastPrint) >= progressEvery {
			rate := float64(cnt.decided-lastDecided) / now.Sub(lastPrint).Seconds()
			con.progress(progressLine(now.Sub(began), cnt, rate, totalLag(offsets)))
			lastPrint, lastDecided = now, cnt.decided
		}
		if done {
			return newRecords, offsets, nil
		}
	}
}

func printHeader(con *console, c config, b *broker, sv *statusView, dash *lagDashboard, source string, orders int) {
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
	poisonNote := ""
	switch {
	case c.poison == 1:
		poisonNote = fmt.Sprintf("\n               + 1 poison record (key %s1) that no stage can read", poisonKeyPrefix)
	case c.poison > 1:
		poisonNote = fmt.Sprintf("\n               + %d poison records (keys %s1 to %s%d) that no stage can read", c.poison, poisonKeyPrefix, poisonKeyPrefix, c.poison)
	}
	dashLine := "off (--dashboard-addr is empty)"
	if dash.url != "" {
		dashLine = dash.url + "/  lag, rates and dead letters of the three groups, live"
		if dash.note != "" {
			dashLine += " (" + dash.note + ")"
		}
		switch {
		case c.keepRunning:
			dashLine += "\n               up until Ctrl-C (--keep-running)"
		case con.enter != nil:
			dashLine += "\n               stays up after the run until you press Enter"
		default:
			dashLine += "\n               the run ends by itself within seconds: add --keep-running to keep it up"
		}
	}
	dir, err := filepath.Abs(c.dataDir)
	if err != nil {
		dir = c.dataDir
	}
	con.printf(`Sluice demo: the order pipeline on an embedded Kafka-compatible broker

  broker       %s (kfake%s), data in %s (%s)
  orders       %s orders %s%s
  processors   validate -> score (%s trees) -> decide, %d workers each
  status view  %s/orders/{id}%s
  dashboard    %s

`, b.addr, brokerNote, dir, state, num(orders), source, poisonNote, num(c.modelTrees), c.workers, sv.url, statusNote, dashLine)
}

func progressLine(elapsed time.Duration, c counts, rate float64, lag int64) string {
	// Validate's rejections go straight to orders.decided, so decided runs
	// ahead of scored by them: the line says how many.
	line := fmt.Sprintf("%6.1fs  in %s  validated %s  scored %s  decided %s (%s rejected by validate, unscored)  %s/s  lag %s",
		elapsed.Seconds(), num(c.placed), num(c.validated), num(c.scored), num(c.decided), num(c.byValidate), num(int(rate+0.5)), num(lag))
	if c.poison > 0 {
		line += fmt.Sprintf("  dead-lettered %d/%d", c.poisonDLQ, c.poison)
	}
	return line
}

// interrupted reports how far the demo got when ctx ended.
func interrupted(con *console, began time.Time, c counts) *summary {
	poison := ""
	if c.poison > 0 {
		poison = fmt.Sprintf(", %d of %d poison records in %s", c.poisonDLQ, c.poison, topicDLQ)
	}
	con.printf("\nInterrupted after %.1f s: %s orders in, %s validated, %s scored, %s decided%s.\n"+
		"The processors committed what they finished. Run the demo again to resume.\n",
		time.Since(began).Seconds(), num(c.placed), num(c.validated), num(c.scored), num(c.decided), poison)
	return &summary{interrupted: true, after: c}
}
