//go:build integration

package integration_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/integration/orderchain"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// The scenarios on one node share a cluster (each uses its own topics and
// groups, none touches a broker); broker loss starts its own three nodes.
func TestMain(m *testing.M) { kafkatest.Main(m) }

const settleTimeout = 5 * time.Minute

// TestIntegrationReferenceChainEndToEnd runs 100,000 orders through
// validate, score and decide: every order gets its expected decision and
// final status, each order's statuses appear in pipeline order, no stage
// duplicates anything in a fault-free run, and every group ends with its
// committed offsets at the end offsets.
func TestIntegrationReferenceChainEndToEnd(t *testing.T) {
	const n = 100_000
	k := kafkatest.Shared(t)
	c := orderchain.New(t, k, "ref")
	col := c.Collect(t)
	start := time.Now()
	c.StartAll(t)
	sent := orderchain.NewSent()
	c.Produce(t, sent, orderchain.Orders(1, n), 2*time.Minute)
	t.Logf("produced %s in %s", sent, time.Since(start).Round(time.Millisecond))

	c.WaitSettled(t, col, settleTimeout)
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	for role, d := range f.Duplicates {
		if d != 0 {
			t.Errorf("%d duplicates on %s in a run without faults, want 0", d, role)
		}
	}
	orderchain.Report(t, "reference-chain", f)
	orderchain.Summary(t, fmt.Sprintf("INTEGRATION reference-chain: throughput %.0f orders/s end to end on this machine", float64(n)/f.Seconds))
}

// TestIntegrationCrashedProcessorLosesNothing SIGKILLs score while it is
// busy and restarts it: nothing is lost, and every duplicate it produced
// comes from the uncommitted window, i.e. from an input record at or after
// the offset its group had committed just before the kill.
func TestIntegrationCrashedProcessorLosesNothing(t *testing.T) {
	const n = 30_000
	k := kafkatest.Shared(t)
	// A 5s commit interval makes sure the kill lands in a non-empty
	// uncommitted window, so there are duplicates to account for.
	c := orderchain.New(t, k, "crash", orderchain.Env("SLUICE_SESSION_TIMEOUT=15s", "SLUICE_COMMIT_INTERVAL=5s"))
	col := c.Collect(t)
	start := time.Now()
	procs := c.StartAll(t)
	sent := orderchain.NewSent()
	produced := c.ProduceOver(t, sent, orderchain.Orders(2, n), 20*time.Second)

	orderchain.WaitFor(t, time.Minute, "score busy (a third of the orders scored)", func() bool {
		return col.Count(c.Topics.Scored) >= n/3
	})
	watch := c.WatchCommits(t, orderchain.Score, time.Hour) // sampled by hand below
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	committedAtKill := watch.Sample(ctx)
	cancel()
	scoredAtKill := col.Count(c.Topics.Scored)
	procs[orderchain.Score].Kill(t)
	t.Logf("killed %s with %d orders scored; committed before the kill: %v", procs[orderchain.Score].Name, scoredAtKill, committedAtKill)
	// What was unfinished at the kill, as the dead process left it: every
	// scored output written (one per input record: the first run of score)
	// minus what its commits record as finished. Only that may be redone.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	written, err := c.Ends(ctx, c.Topics.Scored)
	if err != nil {
		t.Fatal(err)
	}
	recorded, aboveWatermark, err := c.RecordedFinished(ctx, orderchain.Score)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var outputsAtKill int64
	for _, e := range written {
		outputsAtKill += e
	}
	unfinishedAtKill := outputsAtKill - recorded
	procs[orderchain.Score].Restart(t)

	produced()
	c.WaitSettled(t, col, settleTimeout)
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	if f.Duplicates["validated"] != 0 {
		t.Errorf("%d duplicates on orders.validated: validate was not touched", f.Duplicates["validated"])
	}

	// Every order score wrote more often than it read must have an input
	// record in the window the crash replayed.
	in := orderchain.PositionsOf(col, c.Topics.Validated)
	var dupKeys, outside int
	for id, outs := range orderchain.OutputsOf(col, c.Topics.Scored) {
		if outs <= len(in[id]) {
			continue
		}
		dupKeys++
		if !slices.ContainsFunc(in[id], func(p orderchain.Position) bool {
			at, ok := committedAtKill[p.Partition]
			return !ok || p.Offset >= at
		}) {
			outside++
			if outside <= 10 {
				t.Errorf("order %s scored %d times from inputs %v, all below the offsets committed before the kill %v", id, outs, in[id], committedAtKill)
			}
		}
	}
	if outside > 0 {
		t.Errorf("%d of %d duplicated orders come from before the committed offsets", outside, dupKeys)
	}
	if dupKeys == 0 {
		t.Errorf("the kill left no uncommitted work to redo: the scenario showed nothing about the uncommitted window")
	}
	if int64(dupKeys) > unfinishedAtKill {
		t.Errorf("score redid %d orders after the kill, more than the %d it had written outputs for without its commits recording them as finished", dupKeys, unfinishedAtKill)
	}
	t.Logf("score duplicated %d orders, all from input offsets at or past the commit observed before the kill", dupKeys)
	orderchain.Report(t, "crash", f)
	orderchain.Summary(t, fmt.Sprintf("INTEGRATION crash: score redid %d orders after the kill; unfinished at the kill (outputs written, not recorded finished) %d; recorded finished above the committed offsets %d; %d from outside the uncommitted window",
		dupKeys, unfinishedAtKill, aboveWatermark, outside))
}

// TestIntegrationScaleOutAndIn runs score as one instance, then three, then
// one again while orders flow: every partition is owned at each step,
// nothing is lost and the lag returns to zero.
func TestIntegrationScaleOutAndIn(t *testing.T) {
	const n = 40_000
	k := kafkatest.Shared(t)
	c := orderchain.New(t, k, "scale")
	col := c.Collect(t)
	start := time.Now()
	c.StartAll(t)
	sent := orderchain.NewSent()
	produced := c.ProduceOver(t, sent, orderchain.Orders(3, n), 30*time.Second)
	all := make([]int32, c.Partitions())
	for i := range all {
		all[i] = int32(i)
	}
	requireAssignment := func(members int) {
		t.Helper()
		var got []int32
		var gotMembers int
		orderchain.WaitFor(t, 90*time.Second, fmt.Sprintf("score group stable with %d members owning all partitions", members), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m, assigned, err := c.Assignment(ctx, orderchain.Score)
			gotMembers, got = m, assigned
			return err == nil && m == members && slices.Equal(assigned, all)
		})
		t.Logf("score group: %d members, partitions %v assigned (%d orders scored so far)", gotMembers, got, col.Count(c.Topics.Scored))
	}

	orderchain.WaitFor(t, time.Minute, "a fifth of the orders scored", func() bool { return col.Count(c.Topics.Scored) >= n/5 })
	requireAssignment(1)
	extra := []*orderchain.Proc{c.Start(t, orderchain.Score), c.Start(t, orderchain.Score)}
	requireAssignment(3)

	orderchain.WaitFor(t, time.Minute, "three fifths of the orders scored", func() bool { return col.Count(c.Topics.Scored) >= 3*n/5 })
	for _, p := range extra {
		p.Stop(t)
	}
	requireAssignment(1)

	produced()
	c.WaitSettled(t, col, settleTimeout)
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	orderchain.Report(t, "scale-out-in", f)
}

// TestIntegrationBrokerLossLosesNothing kills one of three brokers (topics
// with replication factor 3, min.insync.replicas 2) while orders flow and
// brings it back: the processors keep going during the outage and nothing
// is lost.
func TestIntegrationBrokerLossLosesNothing(t *testing.T) {
	const n = 20_000
	k := kafkatest.NewKafka(t, kafkatest.Nodes(3))
	c := orderchain.New(t, k, "broker")
	col := c.Collect(t)
	start := time.Now()
	c.StartAll(t)
	sent := orderchain.NewSent()
	produced := c.ProduceOver(t, sent, orderchain.Orders(4, n), 40*time.Second)

	orderchain.WaitFor(t, 2*time.Minute, "a fifth of the orders decided", func() bool { return col.Count(c.Topics.Decided) >= n/5 })
	k.KillNode(t, 1)
	atKill := col.Count(c.Topics.Decided)
	orderchain.WaitFor(t, 2*time.Minute, "2,000 more orders decided with a broker down", func() bool {
		return col.Count(c.Topics.Decided) >= atKill+2000
	})
	t.Logf("decided %d orders while node 1 was down", col.Count(c.Topics.Decided)-atKill)
	c.RequireRunning(t)
	k.StartNode(t, 1)

	produced()
	c.WaitSettled(t, col, settleTimeout)
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	orderchain.Report(t, "broker-loss", f)
}

// TestIntegrationFrozenProcessorCommitsNoStaleOffsets pauses one of two
// score instances past its session timeout (--session-timeout 15s: short
// for the test, long enough that a loaded CI machine does not starve the
// other members' heartbeats past it) and
// thaws it: the group rebalances to the other instance, committed offsets
// never go backwards (sampled every 100 ms throughout), and nothing is lost.
func TestIntegrationFrozenProcessorCommitsNoStaleOffsets(t *testing.T) {
	const n = 30_000
	k := kafkatest.Shared(t)
	c := orderchain.New(t, k, "freeze", orderchain.Env("SLUICE_SESSION_TIMEOUT=15s"))
	col := c.Collect(t)
	start := time.Now()
	watch := c.WatchCommits(t, orderchain.Score, 100*time.Millisecond)
	c.StartAll(t)
	frozen := c.Start(t, orderchain.Score)
	sent := orderchain.NewSent()
	produced := c.ProduceOver(t, sent, orderchain.Orders(5, n), 40*time.Second)

	members := func(want int) func() bool {
		return func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m, assigned, err := c.Assignment(ctx, orderchain.Score)
			return err == nil && m == want && len(assigned) == int(c.Partitions())
		}
	}
	orderchain.WaitFor(t, time.Minute, "two score instances in the group", members(2))
	orderchain.WaitFor(t, time.Minute, "a tenth of the orders scored", func() bool { return col.Count(c.Topics.Scored) >= n/10 })
	frozen.Pause(t)
	paused := time.Now()
	orderchain.WaitFor(t, 2*time.Minute, "the group rebalanced to one member after the session timeout", members(1))
	t.Logf("group rebalanced %s after the pause", time.Since(paused).Round(time.Millisecond))
	// Let the survivor commit on its new partitions before the thaw, so a
	// stale commit by the thawed instance would move offsets backwards.
	committed := func() (sum int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offs, _ := c.Committed(ctx, orderchain.Score)
		for _, o := range offs {
			sum += o
		}
		return sum
	}
	atRebalance := committed()
	orderchain.WaitFor(t, 2*time.Minute, "the survivor committing after the rebalance", func() bool { return committed() > atRebalance })
	frozen.Unpause(t)
	t.Logf("thawed %s after %s", frozen.Name, time.Since(paused).Round(time.Millisecond))
	orderchain.WaitFor(t, 2*time.Minute, "the thawed instance back in the group", members(2))

	produced()
	c.WaitSettled(t, col, settleTimeout)
	watch.Stop()
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	moves, samples := watch.Backwards()
	for _, m := range moves {
		t.Errorf("committed offset went backwards: %s", m)
	}
	t.Logf("committed offsets sampled %d times, %d moves backwards", samples, len(moves))
	orderchain.Report(t, "freeze", f)
	orderchain.Summary(t, fmt.Sprintf("INTEGRATION freeze: committed offsets sampled %d times, %d moves backwards", samples, len(moves)))
}

// TestIntegrationExactlyOnceChainSurvivesKills runs the whole chain in
// exactly-once mode and SIGKILLs each stage in turn mid-stream, restarting
// it (same container: same host name, so same instance ID and
// transactional ID). Read as the stages read, read_committed: nothing lost,
// no duplicate in any output topic, no order's status going backwards in
// order-status itself, and committed = end offsets.
func TestIntegrationExactlyOnceChainSurvivesKills(t *testing.T) {
	const n = 30_000
	k := kafkatest.Shared(t)
	c := orderchain.New(t, k, "eos", orderchain.ExactlyOnce(), orderchain.Env("SLUICE_SESSION_TIMEOUT=15s", "SLUICE_COMMIT_INTERVAL=500ms"))
	col := c.Collect(t)
	start := time.Now()
	procs := c.StartAll(t)
	sent := orderchain.NewSent()
	produced := c.ProduceOver(t, sent, orderchain.Orders(7, n), 30*time.Second)
	for i, s := range []orderchain.Stage{orderchain.Validate, orderchain.Score, orderchain.Decide, orderchain.Score} {
		want := (i + 1) * n / 6
		orderchain.WaitFor(t, 2*time.Minute, fmt.Sprintf("%d orders decided before killing %s", want, s), func() bool {
			return col.Count(c.Topics.Decided) >= want
		})
		procs[s].Kill(t)
		t.Logf("killed %s with %d orders decided", procs[s].Name, col.Count(c.Topics.Decided))
		procs[s].Restart(t)
	}
	produced()
	c.WaitSettled(t, col, settleTimeout)
	c.RequireCommittedAtEnd(t)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)
	for role, d := range f.Duplicates {
		if d != 0 {
			t.Errorf("%d duplicates on %s read read_committed after kills in exactly-once mode, want 0", d, role)
		}
	}
	c.RequireNoStatusRegressions(t, col)
	orderchain.Report(t, "exactly-once-kills", f)
}
