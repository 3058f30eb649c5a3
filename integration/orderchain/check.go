package orderchain

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/offsetmeta"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/pipeline/verify"
	"github.com/sluice-dev/sluice/processors/order"
)

// Offsets are offsets by partition of one topic.
type Offsets map[int32]int64

// Committed returns the offsets stage's group has committed on its input
// topic; a partition without a commit is absent.
func (c *Chain) Committed(ctx context.Context, s Stage) (Offsets, error) {
	resp, err := c.adm.FetchOffsets(ctx, c.Group(s))
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", c.Group(s), err)
	}
	if err := resp.Error(); err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", c.Group(s), err)
	}
	out := Offsets{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == c.Input(s) && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// RecordedFinished returns how many records of stage's input its group's
// commits record as finished: everything below each committed offset, and
// the finished offsets above it that the commit metadata names (precise
// resume, pipeline/offsetmeta).
func (c *Chain) RecordedFinished(ctx context.Context, s Stage) (total, aboveWatermark int64, err error) {
	resp, err := c.adm.FetchOffsets(ctx, c.Group(s))
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("fetch offsets of group %s: %w", c.Group(s), err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic != c.Input(s) || o.At < 0 || err != nil {
			return
		}
		set, derr := offsetmeta.Decode(o.Metadata, o.At)
		if derr != nil {
			err = fmt.Errorf("group %s %s/%d: commit metadata %q: %w", c.Group(s), o.Topic, o.Partition, o.Metadata, derr)
			return
		}
		total += o.At + set.Len()
		aboveWatermark += set.Len()
	})
	return total, aboveWatermark, err
}

// Ends returns the end offsets (high watermarks) of topic.
func (c *Chain) Ends(ctx context.Context, topic string) (Offsets, error) {
	listed, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	out := Offsets{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// Lag returns how many input records stage's group has not committed, over
// all partitions, and the partitions that have records but no commit.
func (c *Chain) Lag(ctx context.Context, s Stage) (lag int64, uncommitted []int32, err error) {
	ends, err := c.Ends(ctx, c.Input(s))
	if err != nil {
		return 0, nil, err
	}
	committed, err := c.Committed(ctx, s)
	if err != nil {
		return 0, nil, err
	}
	for p, end := range ends {
		at, ok := committed[p]
		if !ok && end > 0 {
			uncommitted = append(uncommitted, p)
		}
		lag += end - at
	}
	slices.Sort(uncommitted)
	return lag, uncommitted, nil
}

// WaitSettled waits until the chain has nothing left to do: checked in
// pipeline order, every group has committed its input up to the end, and
// then the collector has read every output topic to its end. Because a
// stage commits a record only after its outputs are acknowledged, a settled
// chain has produced everything it ever will from what was sent. It fails
// t when that does not happen within timeout, logging each group's lag.
func (c *Chain) WaitSettled(t testing.TB, col *Collector, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	err := Poll(context.Background(), timeout, func(ctx context.Context) error {
		for _, s := range Stages {
			lag, unc, err := c.Lag(ctx, s)
			if err != nil {
				return err
			}
			if lag != 0 || len(unc) > 0 {
				return fmt.Errorf("group %s: lag %d, partitions without commit %v", c.Group(s), lag, unc)
			}
		}
		ends := map[string]map[int32]int64{}
		for _, topic := range []string{c.Topics.Validated, c.Topics.Scored, c.Topics.Decided, c.Topics.Status} {
			e, err := c.Ends(ctx, topic)
			if err != nil {
				return err
			}
			ends[topic] = e
		}
		return col.caughtUp(ends)
	})
	if err != nil {
		t.Fatalf("orderchain: %s not settled within %s: %v", c.Name, timeout, err)
	}
	t.Logf("orderchain: %s settled after %s", c.Name, time.Since(start).Round(time.Millisecond))
}

// RequireCommittedAtEnd fails t unless every stage's group has committed
// exactly the end offset of every partition of its input topic. It is
// WaitSettled's condition, checked once more and logged as figures.
func (c *Chain) RequireCommittedAtEnd(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range Stages {
		ends, err := c.Ends(ctx, c.Input(s))
		if err != nil {
			t.Fatalf("orderchain: %v", err)
		}
		committed, err := c.Committed(ctx, s)
		if err != nil {
			t.Fatalf("orderchain: %v", err)
		}
		var total int64
		for p, end := range ends {
			total += end
			if committed[p] != end {
				t.Errorf("orderchain: group %s committed %s/%d@%d, end offset %d", c.Group(s), c.Input(s), p, committed[p], end)
			}
		}
		t.Logf("orderchain: group %s: committed = end offsets on all %d partitions of %s (%d records)", c.Group(s), len(ends), c.Input(s), total)
	}
}

// Figures are a scenario's outcome, for logs.
type Figures struct {
	Orders, Valid int
	// Out counts records per output topic role: validated, scored,
	// decided, status (duplicates included).
	Out        map[string]int
	Decided    int            // orders with at least one OrderDecided
	Lost       int            // over all checks
	Reordered  int            // keys, over all checks
	Duplicates map[string]int // extra deliveries per role
	WrongFinal int            // orders whose last status or decision is not the expected one
	// StatusRegressions counts order-status records ranked below the
	// order's record before them (see [Chain.StatusRegressions]);
	// RegressedOrders the orders with one. Expected after a crash in
	// at-least-once mode, never in exactly-once mode.
	StatusRegressions, RegressedOrders int
	Seconds                            float64
}

// Summary is the one-line form of f.
func (f Figures) Summary(scenario string) string {
	return fmt.Sprintf("INTEGRATION %s: orders_in=%d valid=%d decided=%d out(validated/scored/decided/status)=%d/%d/%d/%d duplicates(validated/scored/decided/status)=%d/%d/%d/%d lost=%d reordered_keys=%d wrong_final=%d status_regressions=%d regressed_orders=%d seconds=%.1f",
		scenario, f.Orders, f.Valid, f.Decided,
		f.Out["validated"], f.Out["scored"], f.Out["decided"], f.Out["status"],
		f.Duplicates["validated"], f.Duplicates["scored"], f.Duplicates["decided"], f.Duplicates["status"],
		f.Lost, f.Reordered, f.WrongFinal, f.StatusRegressions, f.RegressedOrders, f.Seconds)
}

// Verify checks everything the collector read against what was sent, with
// pipeline/verify, and fails t on any loss, reordering, stranger or wrong
// outcome. Duplicates are counted, not failed. The checks:
//
//   - orders.decided: every order has its expected decision (exactly one
//     ID per key, so any extra delivery is a duplicate);
//   - order-status: every order's states first appear in pipeline order
//     (VALIDATED, SCORED, CONFIRMED|REJECTED, or REJECTED alone), and its
//     last state is the final one: re-deliveries after a crash may repeat
//     states, but the compacted topic must end on the outcome;
//   - orders.validated and orders.scored: every valid order, once or more.
//
// Status regressions ([Chain.StatusRegressions]) are counted, not failed:
// a scenario in exactly-once mode asserts there are none with
// [Chain.RequireNoStatusRegressions]. It returns the figures and the
// reports by role.
func (c *Chain) Verify(t testing.TB, sent *Sent, col *Collector, since time.Time) (Figures, map[string]verify.Report) {
	t.Helper()
	sent.mu.Lock()
	defer sent.mu.Unlock()
	decided := map[string][]string{}
	statuses := map[string][]string{}
	valid := map[string][]string{}
	for id, e := range sent.Expected {
		decided[id] = []string{string(e.Decision)}
		for _, s := range e.Statuses {
			statuses[id] = append(statuses[id], string(s))
		}
		if e.Valid() {
			valid[id] = []string{id}
		}
	}
	roles := []struct {
		role, topic string
		sent        map[string][]string
	}{
		{"validated", c.Topics.Validated, valid},
		{"scored", c.Topics.Scored, valid},
		{"decided", c.Topics.Decided, decided},
		{"status", c.Topics.Status, statuses},
	}
	f := Figures{Orders: len(sent.Expected), Valid: len(valid), Out: map[string]int{}, Duplicates: map[string]int{}}
	reports := map[string]verify.Report{}
	for _, r := range roles {
		recs := col.Records(r.topic)
		rep := verify.Check(verify.History{Sent: r.sent, Out: recs})
		verify.Require(t, c.Name+" "+r.topic, rep)
		reports[r.role] = rep
		f.Out[r.role] = len(recs)
		f.Duplicates[r.role] = rep.Duplicates
		f.Lost += len(rep.Lost)
		f.Reordered += len(rep.Reordered)
		if r.role == "decided" {
			f.Decided = rep.Distinct
		}
	}

	// The last status of each order, and every decision, must be the
	// expected outcome.
	last := map[string]string{}
	for _, r := range col.Records(c.Topics.Status) {
		last[r.Key] = r.ID
	}
	var wrong []string
	for id, e := range sent.Expected {
		if got, ok := last[id]; ok && got != string(e.Final()) {
			wrong = append(wrong, fmt.Sprintf("%s: last status %s, want %s", id, got, e.Final()))
		}
	}
	for _, r := range col.Records(c.Topics.Decided) {
		if e, ok := sent.Expected[r.Key]; ok && r.ID != string(e.Decision) {
			wrong = append(wrong, fmt.Sprintf("%s: decision %s at %s/%d@%d, want %s", r.Key, r.ID, r.Topic, r.Partition, r.Offset, e.Decision))
		}
	}
	f.WrongFinal = len(wrong)
	reg := c.StatusRegressions(col)
	f.StatusRegressions, f.RegressedOrders = reg.Records, reg.Orders
	if len(wrong) > 0 {
		sort.Strings(wrong)
		t.Errorf("orderchain: %d wrong outcomes, first: %s", len(wrong), strings.Join(wrong[:min(10, len(wrong))], "; "))
	}
	f.Seconds = time.Since(since).Seconds()
	return f, reports
}

// StatusRegressions counts, in what col has read of the order-status topic,
// the records whose rank (order.Status.EffectiveRank) is below that of the
// order's record before them: the order went back, as from CONFIRMED to
// SCORED when a stage redoes an order after a crash in at-least-once mode.
// Duplicates of the same state are not regressions. Call it once col has
// caught up ([Chain.WaitSettled]) for the whole run, or during the run for
// what was written so far.
func (c *Chain) StatusRegressions(col *Collector) Regressions {
	return col.regressions(c.Topics.Status)
}

// RequireNoStatusRegressions fails t, listing the first ones, if the
// order-status topic holds any regression: what exactly-once mode promises.
func (c *Chain) RequireNoStatusRegressions(t testing.TB, col *Collector) {
	t.Helper()
	if r := c.StatusRegressions(col); r.Records > 0 {
		t.Errorf("orderchain: %s: %d status records went back, in %d orders; first: %s",
			c.Topics.Status, r.Records, r.Orders, strings.Join(r.First, "; "))
	}
}

// Report logs f with t and prints its one-line summary with [Summary].
func Report(t testing.TB, scenario string, f Figures) {
	t.Helper()
	line := f.Summary(scenario)
	t.Log(line)
	Summary(t, line)
}

// SummaryFileEnv names the environment variable of a file that [Summary]
// appends its lines to. go test shows a passing package's stdout only with
// -v; CI sets this variable and prints the file after the run.
const SummaryFileEnv = "SLUICE_INTEGRATION_SUMMARY"

// Summary prints a one-line summary to stdout and, when SummaryFileEnv is
// set, appends it to that file.
func Summary(t testing.TB, line string) {
	t.Helper()
	fmt.Println(line)
	path := os.Getenv(SummaryFileEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = fmt.Fprintln(f, line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Errorf("orderchain: write summary to %s=%s: %v", SummaryFileEnv, path, err)
	}
}

// CommitWatch samples a group's committed offsets in the background, to
// check they never go backwards and to know what was committed at a given
// moment. Its goroutine owns the sampling; mu guards the samples.
type CommitWatch struct {
	c      *Chain
	stage  Stage
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	last      Offsets
	samples   int
	backwards []string
}

// WatchCommits starts sampling stage's committed offsets every interval,
// until the test ends or Stop.
func (c *Chain) WatchCommits(t testing.TB, s Stage, interval time.Duration) *CommitWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &CommitWatch{c: c, stage: s, cancel: cancel, done: make(chan struct{}), last: Offsets{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			w.Sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

// Sample reads the committed offsets now, records any that went backwards
// since the previous sample, and returns them.
func (w *CommitWatch) Sample(ctx context.Context) Offsets {
	got, err := w.c.Committed(ctx, w.stage)
	if err != nil {
		return nil // a failed sample tells nothing; the next one will
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples++
	for p, off := range got {
		if prev, ok := w.last[p]; ok && off < prev {
			w.backwards = append(w.backwards, fmt.Sprintf("%s/%d: %d after %d at %s", w.c.Input(w.stage), p, off, prev, time.Now().Format(time.TimeOnly+".000")))
		}
		w.last[p] = max(w.last[p], off)
	}
	return got
}

// Stop ends the sampling.
func (w *CommitWatch) Stop() {
	w.cancel()
	<-w.done
}

// Backwards returns every observed move of a committed offset to a lower
// offset, and the number of samples taken.
func (w *CommitWatch) Backwards() (moves []string, samples int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.backwards...), w.samples
}

// Assignment describes stage's group: its members, and the input
// partitions assigned to any member.
func (c *Chain) Assignment(ctx context.Context, s Stage) (members int, assigned []int32, err error) {
	groups, err := c.adm.DescribeGroups(ctx, c.Group(s))
	if err != nil {
		return 0, nil, err
	}
	g, ok := groups[c.Group(s)]
	if !ok || g.Err != nil {
		return 0, nil, fmt.Errorf("describe group %s: %v", c.Group(s), g.Err)
	}
	if g.State != "Stable" {
		return 0, nil, fmt.Errorf("group %s is %s", c.Group(s), g.State)
	}
	for p := range g.AssignedPartitions()[c.Input(s)] {
		assigned = append(assigned, p)
	}
	slices.Sort(assigned)
	return len(g.Members), assigned, nil
}

// OutputsOf returns, for each order ID, how many records the chain wrote to
// topic (per the collector).
func OutputsOf(col *Collector, topic string) map[string]int {
	n := map[string]int{}
	for _, r := range col.Records(topic) {
		n[r.Key]++
	}
	return n
}

// PositionsOf returns where each order ID's records are in topic (per the
// collector), in offset order.
func PositionsOf(col *Collector, topic string) map[string][]Position {
	out := map[string][]Position{}
	for _, r := range col.Records(topic) {
		out[r.Key] = append(out[r.Key], Position{r.Partition, r.Offset})
	}
	return out
}

// StatusOrder lists the states of order o as the collector read them.
func StatusOrder(col *Collector, c *Chain, id string) []order.State {
	var out []order.State
	for _, r := range col.Records(c.Topics.Status) {
		if r.Key == id {
			out = append(out, order.State(r.ID))
		}
	}
	return out
}
