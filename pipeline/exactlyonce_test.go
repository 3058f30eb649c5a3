package pipeline_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline"
)

// committedValues reads topic as a read_committed consumer (as downstream
// stages do) until it has seen want distinct values or timeout passes.
func committedValues(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) map[string]int {
	t.Helper()
	cl := newClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for len(seen) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
	}
	// Whatever else is committed (duplicates) arrives within a moment.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	for ctx2.Err() == nil {
		cl.PollFetches(ctx2).EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
	}
	return seen
}

// requireEachOnce fails t unless seen holds n distinct values, each once.
func requireEachOnce(t testing.TB, seen map[string]int, n int, when string) {
	t.Helper()
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	if len(seen) != n || dups != 0 {
		t.Fatalf("read_committed output%s: %d distinct of %d, %d duplicates; want all, none", when, len(seen), n, dups)
	}
}

// TestExactlyOnceWritesEveryOutputOnce: in exactly-once mode a
// read_committed reader sees each input's output exactly once, and the
// committed offsets reach the end.
func TestExactlyOnceWritesEveryOutputOnce(t *testing.T) {
	brokers := fakeKafka(t, 3, "in", "out")
	const n = 3000
	produceKeyed(t, brokers, "in", n, 100)
	p, err := pipeline.New("eos", passthrough("out"), pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.CommitInterval(50*time.Millisecond),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitUntil(t, 30*time.Second, "committed = end", func() bool { return sum(lagOrAll(t, brokers, "eos", "in", n)) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	seen := committedValues(t, brokers, "out", n, 10*time.Second)
	requireEachOnce(t, seen, n, "")
}

// TestExactlyOnceSurvivesAKillWithoutDuplicates: a processor SIGKILLed in
// the middle of a transaction leaves it open; the restarted instance (same
// instance ID, so same transactional ID) fences and aborts it. A
// read_committed reader sees every output exactly once.
func TestExactlyOnceSurvivesAKillWithoutDuplicates(t *testing.T) {
	brokers := fakeKafka(t, 4, "in", "out")
	const n = 20000
	produceKeyed(t, brokers, "in", n, 1000)
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcessor$")
		cmd.Env = append(os.Environ(), "SLUICE_CHILD_BROKERS="+brokers[0], "SLUICE_CHILD_EXACTLY_ONCE=1")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	committed := func() int64 { return int64(n) - sum(lagOrAll(t, brokers, "child-eos", "in", n)) }
	first := child()
	waitUntil(t, 60*time.Second, "a quarter committed", func() bool { return committed() > n/4 })
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	killedAt := committed()
	restarted := time.Now()
	second := child()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	waitUntil(t, 60*time.Second, "the restarted instance to commit", func() bool { return committed() > killedAt })
	t.Logf("killed with %d of %d committed; the restarted instance committed %s after it started", killedAt, n, time.Since(restarted).Round(10*time.Millisecond))
	waitUntil(t, 90*time.Second, "committed = end", func() bool { return committed() == n })
	_ = second.Process.Signal(syscall.SIGTERM)
	_ = second.Wait()
	seen := committedValues(t, brokers, "out", n, 10*time.Second)
	requireEachOnce(t, seen, n, " after a kill")
}

// lagOrAll is lag, with every record behind for a group that has not
// committed yet.
func lagOrAll(t testing.TB, brokers []string, group, topic string, n int) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, brokers))
	resp, err := adm.FetchOffsets(context.Background(), group)
	if err != nil || resp.Error() != nil {
		return map[int32]int64{-1: int64(n)}
	}
	return lag(t, brokers, group, topic)
}

func sum(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// TestExactlyOnceEndsTransactionsWhileInFlightCapIsReached: with the
// in-flight cap reached by records whose handlers are still running, the
// transaction holding an earlier record's output still ends on time, so
// that output becomes visible. (Waiting for room without ending it held
// every output back for as long as the cap stayed reached, past the
// transaction timeout if the handlers were slow enough.)
func TestExactlyOnceEndsTransactionsWhileInFlightCapIsReached(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	const blockers = 7
	firstRunning, blocking, release := make(chan struct{}), make(chan struct{}, blockers), make(chan struct{})
	h := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if string(r.Key) == "first" {
			close(firstRunning)
			for range blockers {
				<-blocking
			}
			// Past the fetcher's grace before it pauses on a full cap.
			time.Sleep(300 * time.Millisecond)
			return passthrough("out")(ctx, r)
		}
		blocking <- struct{}{}
		<-release
		return passthrough("out")(ctx, r)
	}
	// Unordered: the eight keys share a lane now and then (a random hash
	// seed, 1,024 lanes: about one run in 37), and a blocker behind "first"
	// would never run (CI, 2026-12-06).
	p, err := pipeline.New("eos-capped", h, pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.Workers(blockers+1),
		pipeline.OrderBy(pipeline.Unordered),
		pipeline.MaxInFlight(blockers+1, 1<<20), pipeline.CommitInterval(100*time.Millisecond),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	cl := newClient(t, brokers)
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Key: []byte("first"), Value: []byte("first")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	<-firstRunning
	for i := range blockers {
		r := &kgo.Record{Topic: "in", Key: []byte{'b', byte('0' + i)}, Value: []byte{'b', byte('0' + i)}}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	seen := committedValues(t, brokers, "out", 1, 10*time.Second)
	close(release)
	if seen["first"] != 1 {
		t.Fatalf("read_committed output with the in-flight cap reached: %v; want the first record's output once", seen)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestExactlyOnceRecoversWhenTheBrokerAbortsAStuckTransaction: outputs
// held up (as on a lost broker) keep a transaction open past its timeout,
// and the transaction coordinator aborts it and bumps the producer's
// epoch. The processor restarts its client instead of stopping, and every
// record still comes out once, read_committed.
func TestExactlyOnceRecoversWhenTheBrokerAbortsAStuckTransaction(t *testing.T) {
	c := fakeCluster(t, 1, "in", "out")
	brokers := c.ListenAddrs()
	const n = 600
	produceKeyed(t, brokers, "in", n, 50)
	var produces atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		// Only the processor produces now (newer produce requests name
		// topics by ID).
		c.KeepControl()
		if produces.Add(1) == 3 {
			// Longer than the transaction timeout below.
			c.SleepControl(func() { time.Sleep(4 * time.Second) })
		}
		return nil, nil, false
	})
	var logs lockedBuffer
	reg := prometheus.NewRegistry()
	p, err := pipeline.New("eos-stuck", passthrough("out"), pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.InstanceID("a"), pipeline.Metrics(reg),
		pipeline.CommitInterval(100*time.Millisecond), pipeline.MaxInFlight(50, 1<<20),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...), kgo.TransactionTimeout(time.Second)),
		pipeline.Logger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	waitUntil(t, 30*time.Second, "committed = end", func() bool { return sum(lagOrAll(t, brokers, "eos-stuck", "in", n)) == 0 })
	restarted := metricValue(t, reg, "sluice_processor_client_restarts_total")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v; want the processor to go on after the aborted transaction", err)
	}
	if restarted != 1 {
		t.Errorf("sluice_processor_client_restarts_total = %v, want 1", restarted)
	}
	if !strings.Contains(logs.String(), "restarting the Kafka client") {
		t.Fatalf("no client restart logged: the stuck transaction was not aborted by the broker, so the test tested nothing\n%s", logs.String())
	}
	seen := committedValues(t, brokers, "out", n, 10*time.Second)
	requireEachOnce(t, seen, n, "")
}

// TestExactlyOnceStopsAfterRepeatedClientRestarts: when every transaction
// gets stuck past its timeout, restarting the client does not help, and
// Run stops with the error after the documented 5 restarts.
func TestExactlyOnceStopsAfterRepeatedClientRestarts(t *testing.T) {
	c := fakeCluster(t, 1, "in", "out")
	brokers := c.ListenAddrs()
	// Input keeps coming, so every session produces more than once.
	feeding := make(chan struct{})
	defer close(feeding)
	go func() {
		cl := newClient(t, brokers)
		for i := 0; ; i++ {
			select {
			case <-feeding:
				return
			case <-time.After(20 * time.Millisecond):
			}
			cl.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte{byte('a' + i%10)}, Value: []byte{byte(i)}}, nil)
		}
	}()
	// Every other produce request is held past the transaction timeout:
	// the one before it has begun the transaction, so the broker aborts
	// it, in every session.
	var produces atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if req.(*kmsg.ProduceRequest).TransactionID != nil && produces.Add(1)%2 == 0 {
			c.SleepControl(func() { time.Sleep(2500 * time.Millisecond) })
		}
		return nil, nil, false
	})
	p, err := pipeline.New("eos-stuck-always", passthrough("out"), pipeline.Topics("in"), pipeline.ExactlyOnce(), pipeline.InstanceID("a"),
		pipeline.CommitInterval(100*time.Millisecond),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...), kgo.TransactionTimeout(time.Second)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Run still restarting its client after 2 minutes")
	}
	if err == nil || !strings.Contains(err.Error(), "again after 5 client restarts within") {
		t.Fatalf("Run: %v; want it to stop after 5 restarts, saying so", err)
	}
}
