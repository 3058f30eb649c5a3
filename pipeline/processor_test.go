package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/offsetmeta"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// lockedBuffer collects what a logger or a child process writes while a
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return string(b.buf) }
func (b *lockedBuffer) Len() int       { b.mu.Lock(); defer b.mu.Unlock(); return len(b.buf) }

// fakeKafka starts an in-process broker with the given topics.
func fakeKafka(t testing.TB, partitions int32, topics ...string) []string {
	t.Helper()
	return fakeCluster(t, partitions, topics...).ListenAddrs()
}

// produceSpread produces n records to topic from a goroutine, keys cycling
// through keys, pausing a second every pauseEvery records so that faults
// meet records in flight; the channel gets the first error (or nil).
func produceSpread(t testing.TB, brokers []string, topic string, n, keys, pauseEvery int, value func(int) string) <-chan error {
	produced := make(chan error, 1)
	cl := newClient(t, brokers, kgo.RequiredAcks(kgo.AllISRAcks()))
	go func() {
		var err error
		for i := 0; i < n && err == nil; i++ {
			err = cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("k", i%keys)), Value: []byte(value(i))}).FirstErr()
			if i%pauseEvery == 0 {
				time.Sleep(time.Second)
			}
		}
		produced <- err
	}()
	return produced
}

// pollFor counts into seen whatever cl reads within d: duplicates
// committed late arrive within a moment.
func pollFor(cl *kgo.Client, d time.Duration, seen map[string]int) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
	}
}

// reportDuplicates reports the first few values of seen read more than
// once and returns how many extra copies there were.
func reportDuplicates(t testing.TB, seen map[string]int) int {
	t.Helper()
	dups := 0
	for v, c := range seen {
		if c > 1 {
			dups += c - 1
			if dups <= 5 {
				t.Errorf("%s out %d times (read_committed), want once", v, c)
			}
		}
	}
	return dups
}

// fakeCluster is fakeKafka's cluster, for tests that control its requests.
func fakeCluster(t testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newClient(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceKeyed writes n records, key "k<i%keys>", value "<i>".
func produceKeyed(t testing.TB, brokers []string, topic string, n, keys int) {
	t.Helper()
	cl := newClient(t, brokers)
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%keys)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// passthrough copies every record to topic out.
func passthrough(out string) pipeline.Handler {
	return func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		return r.Outputs(pipeline.Output{Topic: out, Key: r.Key, Value: r.Value}), nil
	}
}

// drainValues consumes topic from the start until it has seen want distinct
// values or the deadline passes, and returns how often each value was seen.
func drainValues(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) map[string]int {
	t.Helper()
	cl := newClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
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
	return seen
}

// lag returns, per partition, end offset minus committed offset of group.
// caughtUp reports whether group has committed to the end of every
// partition of topics.
func caughtUp(t testing.TB, brokers []string, group string, topics ...string) bool {
	t.Helper()
	for _, topic := range topics {
		for _, l := range lag(t, brokers, group, topic) {
			if l != 0 {
				return false
			}
		}
	}
	return true
}

func lag(t testing.TB, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, brokers))
	ctx := context.Background()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, o.Partition)
		if !ok {
			out[o.Partition] = o.Offset
			return
		}
		out[o.Partition] = o.Offset - c.At
	})
	return out
}

func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runOn runs a processor named name over brokers' topic "in" with h and
// the given options, as run does.
func runOn(t testing.TB, brokers []string, name string, h pipeline.Handler, opts ...pipeline.Option) (cancel func() error) {
	t.Helper()
	p, err := pipeline.New(name, h, append([]pipeline.Option{pipeline.Topics("in"),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, p)
}

func run(t testing.TB, p *pipeline.Processor) (cancel func() error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	cancel = func() error {
		once.Do(func() {
			stop()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				err = errors.New("processor did not stop within 60s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = cancel() })
	return cancel
}

func TestEndToEndCommitsEverything(t *testing.T) {
	brokers := fakeKafka(t, 4, "in", "out")
	const n = 3000
	produceKeyed(t, brokers, "in", n, 100)
	var handled atomic.Int64
	h := passthrough("out")
	p, err := pipeline.New("e2e", func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		handled.Add(1)
		return h(ctx, r)
	}, pipeline.Topics("in"), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitUntil(t, 30*time.Second, "all records handled", func() bool { return handled.Load() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	seen := drainValues(t, brokers, "out", n, 10*time.Second)
	if len(seen) != n {
		t.Fatalf("%d distinct outputs, want %d", len(seen), n)
	}
	for part, l := range lag(t, brokers, "e2e", "in") {
		if l != 0 {
			t.Errorf("partition %d: committed offset is %d behind the end", part, l)
		}
	}
}

// TestKeyOrderRunsKeysInParallelInOnePartition is the ordering contract of
// KeyOrder: within one partition, records of one key run strictly in offset
// order and never at the same time, while different keys overlap.
func TestKeyOrderRunsKeysInParallelInOnePartition(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	const n, keys = 2000, 64
	produceKeyed(t, brokers, "in", n, keys)
	var (
		mu          sync.Mutex
		lastOffset  = map[string]int64{}
		running     = map[string]bool{}
		violations  []string
		now, maxNow atomic.Int32
		handled     atomic.Int64
	)
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		k := string(r.Key)
		mu.Lock()
		if running[k] {
			violations = append(violations, fmt.Sprintf("key %s ran twice at once", k))
		}
		if last, ok := lastOffset[k]; ok && r.Offset <= last {
			violations = append(violations, fmt.Sprintf("key %s: offset %d after %d", k, r.Offset, last))
		}
		running[k], lastOffset[k] = true, r.Offset
		mu.Unlock()
		c := now.Add(1)
		for m := maxNow.Load(); c > m && !maxNow.CompareAndSwap(m, c); m = maxNow.Load() {
		}
		time.Sleep(200 * time.Microsecond) // long enough for others to start
		now.Add(-1)
		mu.Lock()
		running[k] = false
		mu.Unlock()
		handled.Add(1)
		return nil, nil
	}
	stop := runOn(t, brokers, "order", h, pipeline.Workers(8))
	waitUntil(t, 30*time.Second, "all records handled", func() bool { return handled.Load() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Fatalf("%d ordering violations, first: %s", len(violations), violations[0])
	}
	if maxNow.Load() < 2 {
		t.Fatalf("at most %d record in flight at once: no parallelism inside the partition", maxNow.Load())
	}
	t.Logf("max records in flight at once: %d", maxNow.Load())
}

// TestPanicStopsWithRecordErrorAndCommitsNothingPastIt: a handler panic is
// recovered, the processor stops with an error naming the record, and the
// committed offset of that partition does not pass it.
func TestPanicStopsWithRecordErrorAndCommitsNothingPastIt(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 500, 10)
	const poison = 300
	h := passthrough("out")
	p, err := pipeline.New("panics", func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if r.Offset == poison {
			panic("boom")
		}
		return h(ctx, r)
	}, pipeline.Topics("in"), pipeline.Workers(4), pipeline.CommitInterval(10*time.Millisecond), pipeline.StopOnError(),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	var re *pipeline.RecordError
	if !errors.As(err, &re) {
		t.Fatalf("Run returned %v, want a *RecordError", err)
	}
	if re.Topic != "in" || re.Partition != 0 || re.Offset != poison {
		t.Fatalf("error names %s/%d@%d, want in/0@%d", re.Topic, re.Partition, re.Offset, poison)
	}
	var pe *pipeline.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("error %v does not carry the panic value", err)
	}
	if got := 500 - lag(t, brokers, "panics", "in")[0]; got > poison {
		t.Fatalf("committed offset %d passes the failed record %d", got, poison)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h := passthrough("out")
	cases := []struct {
		name string
		opts []pipeline.Option
	}{
		{"no topics", nil},
		{"zero workers", []pipeline.Option{pipeline.Topics("in"), pipeline.Workers(0)}},
		{"zero cap", []pipeline.Option{pipeline.Topics("in"), pipeline.MaxInFlight(0, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := pipeline.New("p", h, c.opts...); err == nil {
				t.Fatal("New accepted a bad configuration")
			}
		})
	}
}

// TestRebalanceLosesNothing: a second instance joins mid-stream, later the
// first leaves; every input appears in the output and the group ends
// fully committed.
func TestRebalanceLosesNothing(t *testing.T) {
	brokers := fakeKafka(t, 6, "in", "out")
	const n = 6000
	var handled atomic.Int64
	slow := func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		time.Sleep(100 * time.Microsecond)
		handled.Add(1)
		return passthrough("out")(ctx, r)
	}
	mk := func() *pipeline.Processor {
		p, err := pipeline.New("rebal", slow, pipeline.Topics("in"), pipeline.CommitInterval(50*time.Millisecond),
			pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stop1 := run(t, mk())
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for i := 0; i < n; i++ {
			cl.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte(fmt.Sprintf("k%d", i%500)), Value: []byte(strconv.Itoa(i))}, nil)
		}
		if err := cl.Flush(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	defer func() { <-produced }()
	waitUntil(t, 30*time.Second, "first third handled", func() bool { return handled.Load() > n/3 })
	stop2 := run(t, mk())
	waitUntil(t, 30*time.Second, "two thirds handled", func() bool { return handled.Load() > 2*n/3 })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "lag 0", func() bool {
		for _, l := range lag(t, brokers, "rebal", "in") {
			if l != 0 {
				return false
			}
		}
		return true
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	seen := drainValues(t, brokers, "out", n, 10*time.Second)
	if len(seen) != n {
		t.Fatalf("%d of %d inputs reached the output", len(seen), n)
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("in %d, out distinct %d, duplicates %d", n, len(seen), dups)
}

// TestKillMidRunLosesNothing runs the processor in a child process, kills
// it with SIGKILL mid-stream (no drain, no final commit), starts a new one,
// and checks every input reaches the output. Duplicates are expected from
// the uncommitted window and reported.
func TestKillMidRunLosesNothing(t *testing.T) {
	brokers := fakeKafka(t, 4, "in", "out")
	const n = 20000
	produceKeyed(t, brokers, "in", n, 1000)
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcessor$")
		cmd.Env = append(os.Environ(), "SLUICE_CHILD_BROKERS="+brokers[0])
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	outCount := func() int64 {
		adm := kadm.NewClient(newClient(t, brokers))
		ends, err := adm.ListEndOffsets(context.Background(), "out")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
		return sum
	}
	first := child()
	waitUntil(t, 60*time.Second, "child to process a quarter", func() bool { return outCount() > n/4 })
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	killedAt := outCount()
	// What the group's commits say is done: the watermarks, and the
	// finished records above them in the offset metadata.
	recorded, window := recordedFinished(t, brokers, "child", "in")
	second := child()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	waitUntil(t, 90*time.Second, "lag 0 after restart", func() bool {
		for _, l := range lag(t, brokers, "child", "in") {
			if l != 0 {
				return false
			}
		}
		return true
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	_ = second.Wait()
	seen := drainValues(t, brokers, "out", n, 10*time.Second)
	if len(seen) != n {
		t.Fatalf("%d of %d inputs reached the output after a kill", len(seen), n)
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	unfinished := killedAt - recorded
	t.Logf("killed after %d outputs, %d of them recorded as finished (%d above the watermarks); in %d, out distinct %d, redone %d, bound %d",
		killedAt, recorded, window, n, len(seen), dups, unfinished)
	if int64(dups) > unfinished {
		t.Fatalf("%d records redone, more than the %d whose outputs were written but not recorded as finished at the kill", dups, unfinished)
	}
}

// TestChildProcessor is the child of TestKillMidRunLosesNothing; it does
// nothing unless started by it.
func TestChildProcessor(t *testing.T) {
	broker := os.Getenv("SLUICE_CHILD_BROKERS")
	if broker == "" {
		return
	}
	session := 6 * time.Second
	if d, err := time.ParseDuration(os.Getenv("SLUICE_CHILD_SESSION")); err == nil {
		session = d
	}
	logger := quiet
	if os.Getenv("SLUICE_CHILD_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	opts := []pipeline.Option{pipeline.Topics("in"), pipeline.CommitInterval(100 * time.Millisecond),
		pipeline.ClientOptions(kgo.SeedBrokers(broker), kgo.SessionTimeout(session)), pipeline.Logger(logger)}
	group := "child"
	if os.Getenv("SLUICE_CHILD_EXACTLY_ONCE") != "" {
		group = "child-eos"
		id := os.Getenv("SLUICE_CHILD_INSTANCE")
		if id == "" {
			id = "child-0"
		}
		opts = append(opts, pipeline.ExactlyOnce(), pipeline.InstanceID(id))
	}
	if g := os.Getenv("SLUICE_CHILD_GROUP"); g != "" {
		group = g
	}
	p, err := pipeline.New(group, func(ctx context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		time.Sleep(50 * time.Microsecond)
		return passthrough("out")(ctx, r)
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signalContext()
	defer stop()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMissingInputTopicFailsAtOnce: a typo in the input topic is an error
// that names the topic, not a processor waiting forever.
func TestMissingInputTopicFailsAtOnce(t *testing.T) {
	brokers := fakeKafka(t, 1, "in")
	p, err := pipeline.New("typo", passthrough("out"), pipeline.Topics("inn"),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "input topic inn does not exist") {
		t.Fatalf("Run = %v (ctx %v), want an immediate error naming topic inn", err, ctx.Err())
	}
}

// recordedFinished returns how many records of topic the group's commits
// record as finished: below the watermark, or above it in the offset
// metadata (the second count).
func recordedFinished(t testing.TB, brokers []string, group, topic string) (total, above int64) {
	t.Helper()
	resp, err := kadm.NewClient(newClient(t, brokers)).FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic != topic || o.At < 0 {
			return
		}
		set, err := offsetmeta.Decode(o.Metadata, o.At)
		if err != nil {
			t.Fatalf("%s/%d: commit metadata %q: %v", topic, o.Partition, o.Metadata, err)
		}
		total += o.At + set.Len()
		above += set.Len()
	})
	return total, above
}

// TestABlockedHandlerDoesNotHoldBackOtherKeys: when one record's handler
// blocks, every record of the other keys is handled meanwhile, the ones in
// the blocked record's batch too (the watcher steals them; see spread),
// and every key stays in order. Light handlers run on one worker until
// then (see Workers); slower ones on both, where a worker's batch is
// stolen once it has been in one record for 8 times its usual handler
// time. With one worker only, every record after the blocked one would
// wait (about 2,000), and before stealing up to 64 records of its batch
// and those keys' later records did (up to 640).
func TestABlockedHandlerDoesNotHoldBackOtherKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler time.Duration
	}{{"light", 0}, {"engaged", 200 * time.Microsecond}} {
		t.Run(tc.name, func(t *testing.T) {
			brokers := fakeKafka(t, 1, "in", "out")
			const n, keys = 4000, 400
			produceKeyed(t, brokers, "in", n, keys)
			release := make(chan struct{})
			var others atomic.Int64
			var mu sync.Mutex
			last := map[string]int{}
			h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
				v, _ := strconv.Atoi(string(r.Value))
				mu.Lock()
				if prev, ok := last[string(r.Key)]; ok && prev >= v {
					t.Errorf("key %s: record %d handled after %d", r.Key, v, prev)
				}
				last[string(r.Key)] = v
				mu.Unlock()
				switch {
				case string(r.Key) != "k7":
					others.Add(1)
				case v == 2007: // halfway through
					<-release
				}
				if tc.handler > 0 {
					time.Sleep(tc.handler)
				}
				return nil, nil
			}
			reg := prometheus.NewRegistry()
			stop := runOn(t, brokers, "blocked", h, pipeline.Workers(2), pipeline.Metrics(reg))
			want := int64(n - n/keys)
			waitUntil(t, 30*time.Second, fmt.Sprintf("all %d records of the other keys handled while k7 blocks", want), func() bool { return others.Load() >= want })
			// The operator's clue to the lag on k7: a stalled handler.
			if stalls := metricValue(t, reg, "sluice_processor_handler_stalls_total"); stalls < 1 {
				t.Errorf("handler_stalls_total = %v while a handler blocked, want at least 1", stalls)
			}
			close(release)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if len(last) != keys || last["k7"] != n-keys+7 {
				t.Fatalf("%d keys handled, k7 up to %d; want %d keys, k7 up to %d", len(last), last["k7"], keys, n-keys+7)
			}
		})
	}
}
