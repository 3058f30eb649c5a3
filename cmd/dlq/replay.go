package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
)

const replaySynopsis = `usage: dlq replay --topic <dlq topic> [--to origin|first-retry] [filters] [--dry-run] [--rate N] [--yes] [--from-start] [--include-refailed]

Sends dead-letter records back for another try: to the topic each came from
(sluice.origin.topic, or Connect's __connect.errors.topic), or with
--to first-retry to that topic's first retry tier (the existing
<origin>.retry.<delay> topic with the shortest delay; --retry-delay picks
another). A replayed record is the original key, value and headers, without
the error headers (sluice.*, __connect.errors.*), plus
sluice.replayed.from=<dlq topic>/<partition>/<offset>, sluice.replays (how
many times it was replayed, this time included) and sluice.replay.attempts
(its attempts so far, which a processor counts on from, so sluice.attempts
adds up across replays). The dead-letter records stay where they are: purge
them when you are done.

No loops. A replayed record that fails again comes back to the dead-letter
topic with those headers. Replay leaves such records out, counts them in
its summary ("N earlier replays came back"), and sends them only with
--include-refailed: fix the cause first, or they come back again.

Resumable, exactly once. Progress is kept as the committed offsets of the
consumer group sluice-dlq-replay.<dlq topic>. Records are sent in batches,
and each batch commits together with its progress in one Kafka transaction,
so after a crash or Ctrl-C a rerun continues where the last committed batch
ended and never sends a record twice. (Consumers of the target topic that
read read_uncommitted can see the records of an aborted batch.) Only one
replay of a topic can run at a time; a second one stops the first.

Progress counts records examined, replayed or not: records the filters
skip are behind it afterwards, so a later replay does not see them. To
replay them (or anything already replayed) again, add --from-start, which
forgets the progress. What bounds the reading is the exception: other
partitions than --partition's, offsets after the end of --offset N-M, and
records after the --limit-th replayed one are not read, and a later replay
starts with them.

A replay reads up to the end offsets seen when it starts, shows progress
on stderr and ends with a summary. On a terminal it asks for confirmation;
without one it needs --yes. --dry-run prints what would be sent, and sends
and commits nothing.

  dlq replay --topic orders.dlq --dry-run
  dlq replay --topic orders.dlq --error-contains timeout --rate 50 --yes
  dlq replay --topic orders.dlq --to first-retry --since "1h ago"`

func runReplay(ctx context.Context, args []string, con console) error {
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	var c common
	var ff filterFlags
	var to string
	var retryDelay time.Duration
	var dryRun, yes, fromStart, includeRefailed bool
	var rate float64
	c.register(fs)
	ff.register(fs, "replay at most this many records, then stop (a rerun continues after them; 0: no limit)")
	fs.StringVar(&to, "to", "origin", "where to send records: origin (the topic they came from) or first-retry (its shortest retry tier)")
	fs.DurationVar(&retryDelay, "retry-delay", 0, "with --to first-retry: the tier <origin>.retry.<delay> to use instead of the shortest existing one")
	fs.BoolVar(&dryRun, "dry-run", false, "print what would be sent; send nothing, commit no progress")
	fs.Float64Var(&rate, "rate", 0, "send at most N records a second (0: no limit), to spare the processors behind the target")
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation (needed when stdin is not a terminal)")
	fs.BoolVar(&fromStart, "from-start", false, "forget the progress of earlier replays and examine every record again")
	fs.BoolVar(&includeRefailed, "include-refailed", false, "also replay records that came back from an earlier replay (they failed again); left out otherwise")
	if err := parse(fs, &c, args, con, replaySynopsis); err != nil {
		return err
	}
	now := time.Now()
	f, err := ff.filter(now)
	if err != nil {
		return err
	}
	if rate < 0 || retryDelay < 0 {
		return usageError{fmt.Errorf("--rate and --retry-delay cannot be negative")}
	}
	opts := []deadletter.ReplayOption{deadletter.WithFilter(f), deadletter.Rate(rate)}
	switch {
	case to == "origin" && retryDelay != 0:
		return usageError{fmt.Errorf("--retry-delay goes with --to first-retry")}
	case to == "origin":
		opts = append(opts, deadletter.ToOrigin())
	case to == "first-retry" && retryDelay > 0:
		opts = append(opts, deadletter.ToRetryTier(retryDelay))
	case to == "first-retry":
		opts = append(opts, deadletter.ToFirstRetry())
	default:
		return usageError{fmt.Errorf("--to %q: want origin or first-retry", to)}
	}
	if fromStart {
		opts = append(opts, deadletter.FromStart())
	}
	if includeRefailed {
		opts = append(opts, deadletter.IncludeRefailed())
	}
	q, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer q.Close()

	if dryRun {
		st, err := q.PlanReplay(ctx, func(rec *deadletter.Record, out *kgo.Record) error {
			_, err := fmt.Fprintf(con.out, "would send %s -> %s  key %s  %s\n", rec.ID(), out.Topic, deadletter.ShowBytes(rec.Key, 32), errorSummary(rec))
			return err
		}, opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(con.out, "dry run: %s; nothing sent, no progress committed\n", summarize(st, "would replay", includeRefailed))
		return nil
	}

	pending, err := pendingRecords(ctx, q, f, fromStart)
	if err != nil {
		return err
	}
	if pending == 0 {
		fmt.Fprintf(con.out, "nothing to replay: every record of %s was examined by an earlier replay (progress: consumer group %s). Add --from-start to examine them all again.\n",
			c.topic, deadletter.ProgressGroup(c.topic))
		return nil
	}
	if !yes {
		target := "each record's origin topic"
		if to == "first-retry" {
			target = "the first retry tier of each record's origin"
		}
		from := "continuing after earlier replays"
		if fromStart {
			from = "from the start, forgetting earlier progress"
		}
		question := fmt.Sprintf("Replay the matching records among up to %d of %s (%s) to %s? Type yes to go on: ", pending, c.topic, from, target)
		if err := confirm(con, "replay", question, "yes"); err != nil {
			return err
		}
	}
	p := &progress{w: con.err, tty: con.errTTY, start: time.Now(), last: time.Now()}
	st, err := q.Replay(ctx, append(opts, deadletter.Progress(p.update))...)
	p.done()
	fmt.Fprintln(con.out, summarize(st, "replayed", includeRefailed))
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(con.err, "interrupted: the open batch was aborted and nothing of it sent; rerun to continue after the last committed batch")
		}
		return err
	}
	fmt.Fprintf(con.out, "progress saved in consumer group %s\n", deadletter.ProgressGroup(c.topic))
	if left := st.Skipped + st.NoOrigin + refailedLeftOut(st, includeRefailed); left > 0 {
		fmt.Fprintf(con.out, "the %d records not replayed are behind the progress now: a later replay skips them unless run with --from-start\n", left)
	}
	return nil
}

// pendingRecords is about how many records the replay would examine.
func pendingRecords(ctx context.Context, q *deadletter.Queue, f deadletter.Filter, fromStart bool) (int64, error) {
	offs, err := q.Offsets(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, po := range offs {
		if len(f.Partitions) > 0 && !slices.Contains(f.Partitions, po.Partition) {
			continue
		}
		start := po.Start
		if !fromStart {
			start = max(start, po.Replayed)
		}
		n += max(0, po.End-start)
	}
	return n, nil
}

// refailedLeftOut is how many records came back from an earlier replay
// and were not sent.
func refailedLeftOut(st deadletter.ReplayStats, included bool) int {
	if included {
		return 0
	}
	return st.Refailed
}

func earlierReplays(n int) string {
	if n == 1 {
		return "1 earlier replay"
	}
	return fmt.Sprintf("%d earlier replays", n)
}

func summarize(st deadletter.ReplayStats, verb string, includeRefailed bool) string {
	s := fmt.Sprintf("%s %d of %d records examined", verb, st.Replayed, st.Examined)
	var why []string
	if st.Skipped > 0 {
		why = append(why, fmt.Sprintf("%d skipped by the filters", st.Skipped))
	}
	switch {
	case st.Refailed > 0 && includeRefailed:
		why = append(why, fmt.Sprintf("%s that came back (failed again), sent again by --include-refailed", earlierReplays(st.Refailed)))
	case st.Refailed > 0:
		why = append(why, fmt.Sprintf("%s came back (failed again) and left out: fix the cause, then replay with --include-refailed (and --from-start once a replay has passed them)", earlierReplays(st.Refailed)))
	}
	if st.NoOrigin > 0 {
		why = append(why, fmt.Sprintf("%d without an origin topic header", st.NoOrigin))
	}
	if len(why) > 0 {
		s += " (" + strings.Join(why, ", ") + ")"
	}
	if len(st.Topics) > 0 {
		var to []string
		for _, t := range slices.Sorted(maps.Keys(st.Topics)) {
			to = append(to, fmt.Sprintf("%s %d", t, st.Topics[t]))
		}
		s += "; to " + strings.Join(to, ", ")
	}
	if st.Limited {
		s += "; stopped at --limit"
	}
	return s
}

func errorSummary(r *deadletter.Record) string {
	msg, _, _ := strings.Cut(r.Error, "\n")
	if r.ErrorClass == "" {
		return msg
	}
	return r.ErrorClass + ": " + msg
}
