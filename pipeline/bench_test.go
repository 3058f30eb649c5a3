package pipeline_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// The benchmarks below compare Sluice with a baseline measured in the same
// run against the same broker, and report the ratio; absolute figures on a
// shared machine are noise.

// brokerProcess starts an embedded broker in a child process, so its CPU
// and memory are not the benchmark's, with the given topics.
func brokerProcess(b testing.TB, partitions int32, topics ...string) []string {
	b.Helper()
	k := kafkatest.NewFakeProcess(b)
	for _, t := range topics {
		k.CreateTopic(b, t, partitions, nil)
	}
	return k.Brokers()
}

// produceFast writes n small records spread over keys, asynchronously.
func produceFast(b testing.TB, brokers []string, topic string, n, keys int) {
	b.Helper()
	cl := newClient(b, brokers, kgo.ProducerLinger(5*time.Millisecond))
	val := make([]byte, 100)
	for i := 0; i < n; i++ {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%keys)), Value: val}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// handLoop is the minimal correct franz-go consume→produce→commit loop a
// user would write without Sluice: poll, produce every record, wait for the
// acks, commit the polled offsets. maxPoll bounds the records a poll
// returns (PollRecords); 0 polls whatever was fetched (PollFetches). It
// returns the time from its first fetch request to its last commit, and the
// CPU this process used then (see fetchStart).
func handLoop(b testing.TB, brokers []string, group string, n int64, maxPoll int) (elapsed, cpu time.Duration) {
	var start fetchStart
	cl := newClient(b, brokers, kgo.ConsumerGroup(group), kgo.ConsumeTopics("in"), kgo.WithHooks(&start),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var done int64
	ctx := context.Background()
	for done < n {
		var fs kgo.Fetches
		if maxPoll > 0 {
			fs = cl.PollRecords(ctx, maxPoll)
		} else {
			fs = cl.PollFetches(ctx)
		}
		fs.EachRecord(func(r *kgo.Record) {
			cl.Produce(ctx, &kgo.Record{Topic: "out", Key: r.Key, Value: r.Value}, nil)
			done++
		})
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return start.since()
}

// fetchStart is a kgo hook that notes the time and this process's CPU when
// the client writes its first fetch request, once it joined the group: the
// measured windows start there, leaving out each run's group join,
// start-up and shutdown, which a long-running processor pays once. They
// used to start at the first polled record, which left out the first
// fetch: franz-go decodes a fetch response before a poll returns any of
// it, and a backlog's first fetch can hold all of it (960,000 of the
// 1,000,000 records on 12 partitions with the hand loop's kgo defaults,
// all 3,000,000 on 480), so the loop that fetched more at once had less of
// its decoding counted.
type fetchStart struct{ at, cpu atomic.Int64 }

func (s *fetchStart) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	const fetch = 1 // kmsg.Fetch
	if key == fetch && s.at.Load() == 0 && s.at.CompareAndSwap(0, time.Now().UnixNano()) {
		s.cpu.Store(int64(processCPU()))
	}
}

// since returns the time and CPU since the first fetch request.
func (s *fetchStart) since() (elapsed, cpu time.Duration) {
	return time.Since(time.Unix(0, s.at.Load())), processCPU() - time.Duration(s.cpu.Load())
}

// sluiceLoop runs a processor until it settled n records and returns the
// time from its first fetch request to then (the group join is left out,
// as in handLoop).
func sluiceLoop(b testing.TB, brokers []string, group string, n int64, h pipeline.Handler, opts ...pipeline.Option) time.Duration {
	elapsed, _ := sluiceLoopOn(b, brokers, "in", group, n, h, opts...)
	return elapsed
}

// sluiceLoopOn is sluiceLoop reading topic; it also returns the CPU this
// process used from the first fetch request (see fetchStart) to the n-th
// record the processor settled (sluice_processor_records_succeeded_total:
// outputs, or the failure path's record, acknowledged), read from that
// counter every 2 ms (see settledCounter). Counting in the handler, as the
// hand loop counts in its own loop, would cost a shared atomic add per
// record.
func sluiceLoopOn(b testing.TB, brokers []string, topic, group string, n int64, h pipeline.Handler, opts ...pipeline.Option) (elapsed, cpu time.Duration) {
	var start fetchStart
	var settled settledCounter
	p, err := pipeline.New(group, h, append([]pipeline.Option{pipeline.Topics(topic), pipeline.Metrics(&settled),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...), kgo.WithHooks(&start)), pipeline.Logger(quiet)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	stop := run(b, p)
	for settled.value(b) < n {
		time.Sleep(2 * time.Millisecond)
	}
	elapsed, cpu = start.since()
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	return elapsed, cpu
}

// settledCounter is a prometheus.Registerer that keeps the collector of
// sluice_processor_records_succeeded_total when the processor registers
// it, so that the benchmark reads that one counter: gathering the whole
// registry every 2 ms, with 480 partitions' gauges, took 5% of a core and
// counted it against the processor.
type settledCounter struct {
	mu sync.Mutex
	c  prometheus.Collector
}

func (s *settledCounter) Register(c prometheus.Collector) error {
	descs := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(descs); close(descs) }()
	for d := range descs {
		if strings.Contains(d.String(), `"sluice_processor_records_succeeded_total"`) {
			s.mu.Lock()
			s.c = c
			s.mu.Unlock()
		}
	}
	return nil
}

func (s *settledCounter) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = s.Register(c)
	}
}

func (s *settledCounter) Unregister(prometheus.Collector) bool { return true }

// value returns the counter's sum over its labels.
func (s *settledCounter) value(b testing.TB) int64 {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c == nil {
		b.Fatal("the processor registered no sluice_processor_records_succeeded_total")
	}
	ms := make(chan prometheus.Metric, 16)
	go func() { c.Collect(ms); close(ms) }()
	var n float64
	for m := range ms {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			b.Fatal(err)
		}
		n += pb.GetCounter().GetValue()
	}
	return int64(n)
}

// BenchmarkRuntimeOverhead: a passthrough processor against the hand-written
// loop on the same input. Target: ratio >= 0.80. kfake costs next to
// nothing, so this mostly compares the CPU each spends per record (both are
// reported); BenchmarkRuntimeOverheadKafka is the same against a real
// broker.
func BenchmarkRuntimeOverhead(b *testing.B) {
	const n = 200_000
	brokers := brokerProcess(b, 6, "in", "out")
	produceFast(b, brokers, "in", n, 10_000)
	compareWithHandLoop(b, brokers, n)
}

// compareWithHandLoop runs two hand-written loops and a passthrough
// processor over the n records of topic "in", b.N times each, interleaved,
// and reports their rates, the ratios, and the CPU each used per record,
// over all passes and pass by pass (median and worst).
// The loops differ in how much a poll returns: everything fetched
// (PollFetches, "baseline"), or at most boundedPoll records (PollRecords,
// "bounded"). Which is cheaper depends on the machine and broker: a
// backlog fetched in one go makes PollFetches return up to the fetch's
// whole 50 MiB, a million 100-byte records held at once, and the garbage
// collector then scans them all (on the AMD EPYC VM of 2026-12-06, over
// 3,000,000 records on 12 partitions, that loop spent 645-652 ns of CPU
// per record, the bounded one 546-551).
// Issue 15's targets are against the cheaper of the two.
//
// Unmeasured passes of the hand-written loop come first, until one is
// within 1.5x of the fastest (at least 2, at most 8). Against the Kafka
// container with 480 partitions the passes that ran in the first ~25 s
// after the first one took 10-40 times as long as later ones, whichever
// loop ran them (hand, hand: 2.2 s then 21.4 s for 600,000 records;
// sluice, sluice, hand, sluice: 2.9, 16.9, 0.4, 0.5 s; 200,000 records:
// 0.4, 9.5, 15.2, then 0.45 s), with one broker request handler busy
// throughout, in its index appends: the loop in that slot counted a
// broker stall as its own throughput and (idle) CPU.
func compareWithHandLoop(b *testing.B, brokers []string, n int64) {
	fastest := time.Duration(math.MaxInt64)
	for i := 0; i < 8; i++ {
		e, _ := handLoop(b, brokers, fmt.Sprintf("warm-%d-%d", b.N, i), n, 0)
		b.Logf("unmeasured pass %d: %s", i, e.Round(time.Millisecond))
		fastest = min(fastest, e)
		if i >= 1 && e < fastest*3/2 {
			break
		}
	}
	// And one of Sluice's, which fetches differently (256 KiB a
	// partition): without it, its first measured pass on 480 partitions
	// took 1.95-2.15 s where the loops' took 1.0-1.1 s, and its later ones
	// about the loops' time (2026-12-06).
	e, _ := sluiceLoopOn(b, brokers, "in", fmt.Sprintf("warm-sluice-%d", b.N), n, passthrough("out"))
	b.Logf("unmeasured sluice pass: %s", e.Round(time.Millisecond))
	var hand, bounded, sl, handCPU, boundedCPU, slCPU time.Duration
	var rateRatios, cpuRatios []float64 // per pass, against the faster / cheaper loop
	perRecord := func(c time.Duration) float64 { return float64(c.Nanoseconds()) / float64(n) }
	for i := 0; i < b.N; i++ {
		e, c := handLoop(b, brokers, fmt.Sprintf("hand-%d", i), n, 0)
		hand, handCPU = hand+e, handCPU+c
		e1, c1 := handLoop(b, brokers, fmt.Sprintf("bounded-%d", i), n, boundedPoll)
		bounded, boundedCPU = bounded+e1, boundedCPU+c1
		e2, c2 := sluiceLoopOn(b, brokers, "in", fmt.Sprintf("sluice-%d", i), n, passthrough("out"))
		sl, slCPU = sl+e2, slCPU+c2
		rateRatios = append(rateRatios, min(e, e1).Seconds()/e2.Seconds())
		cpuRatios = append(cpuRatios, c2.Seconds()/min(c, c1).Seconds())
		b.Logf("pass %d: hand-written %s (%.0f ns CPU/record), bounded %s (%.0f), sluice %s (%.0f): rate %.2fx the faster loop's, CPU %.2fx the cheaper one's", i,
			e.Round(time.Millisecond), perRecord(c), e1.Round(time.Millisecond), perRecord(c1), e2.Round(time.Millisecond), perRecord(c2),
			rateRatios[i], cpuRatios[i])
	}
	records := float64(n) * float64(b.N)
	b.ReportMetric(records/hand.Seconds(), "baseline-rec/s")
	b.ReportMetric(records/bounded.Seconds(), "bounded-rec/s")
	b.ReportMetric(records/sl.Seconds(), "sluice-rec/s")
	b.ReportMetric(hand.Seconds()/sl.Seconds(), "ratio")
	b.ReportMetric(bounded.Seconds()/sl.Seconds(), "bounded-ratio")
	// CPU of this process (not the broker's) over the same windows (see
	// fetchStart).
	b.ReportMetric(float64(handCPU.Nanoseconds())/records, "baseline-cpu-ns/rec")
	b.ReportMetric(float64(boundedCPU.Nanoseconds())/records, "bounded-cpu-ns/rec")
	b.ReportMetric(float64(slCPU.Nanoseconds())/records, "sluice-cpu-ns/rec")
	// Pass by pass, the strictest comparison: the rate against the faster
	// loop of that pass, the CPU against the cheaper one; median and worst.
	slices.Sort(rateRatios)
	slices.Sort(cpuRatios)
	b.ReportMetric(rateRatios[len(rateRatios)/2], "pass-rate-ratio-median")
	b.ReportMetric(rateRatios[0], "pass-rate-ratio-min")
	b.ReportMetric(cpuRatios[len(cpuRatios)/2], "pass-cpu-ratio-median")
	b.ReportMetric(cpuRatios[len(cpuRatios)-1], "pass-cpu-ratio-max")
}

// boundedPoll is the bounded loop's records per poll: the cheapest of
// 1,000, 10,000 and 100,000 on the EPYC VM (10,000 and 1,000 waited on
// acknowledgements so often that they ran at 0.45x and 0.08x the rate).
const boundedPoll = 100_000

// processCPU returns the user and system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spin burns CPU for about d, like a compute-heavy transform. It counts
// iterations calibrated once, not clock reads, so it costs the same CPU
// however busy the machine is.
func spin(d time.Duration) float64 {
	x := 1.0
	for i := int64(0); i < int64(d)*spinPerNano.Load()/1000; i++ {
		x = x*1.0000001 + 1e-9
	}
	return x
}

var spinPerNano atomic.Int64 // loop iterations per microsecond

func calibrateSpin() {
	const iters = 20_000_000
	start := time.Now()
	x := 1.0
	for i := 0; i < iters; i++ {
		x = x*1.0000001 + 1e-9
	}
	sink = x
	spinPerNano.Store(int64(float64(iters) / float64(time.Since(start).Microseconds())))
}

var sink float64

// BenchmarkKeyVsPartitionOrder: one partition, many keys, a CPU-bound
// handler of about 200µs. Target on 2 cores: speedup >= 1.7.
func BenchmarkKeyVsPartitionOrder(b *testing.B) {
	const n = 10_000
	brokers := brokerProcess(b, 1, "in", "out")
	produceFast(b, brokers, "in", n, 1000)
	calibrateSpin()
	b.Logf("spin: %d iterations per µs", spinPerNano.Load())
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if spin(200*time.Microsecond) < 0 { // never: keeps the loop from being optimized away
			panic("spin")
		}
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	var part, key time.Duration
	for i := 0; i < b.N; i++ {
		part += sluiceLoop(b, brokers, fmt.Sprintf("part-%d", i), n, h, pipeline.OrderBy(pipeline.PartitionOrder))
		key += sluiceLoop(b, brokers, fmt.Sprintf("key-%d", i), n, h, pipeline.OrderBy(pipeline.KeyOrder))
	}
	b.ReportMetric(float64(n)*float64(b.N)/part.Seconds(), "partition-rec/s")
	b.ReportMetric(float64(n)*float64(b.N)/key.Seconds(), "key-rec/s")
	b.ReportMetric(part.Seconds()/key.Seconds(), "speedup")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

// BenchmarkBacklogMemory: the broker and the processor each run in a child
// process (so the processor's RSS is its own) facing a backlog of 1,000,000
// small records with a slow handler. It reports the child's peak RSS.
// Target: under 256 MiB.
func BenchmarkBacklogMemory(b *testing.B) {
	const n = 1_000_000
	brokers := brokerProcess(b, 6, "in", "out")
	produceFast(b, brokers, "in", n, 100_000)
	adm := kadm.NewClient(newClient(b, brokers))
	for i := 0; i < b.N; i++ {
		group := fmt.Sprintf("mem-%d", i)
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildSlowProcessor$")
		cmd.Env = append(os.Environ(), "SLUICE_CHILD_BROKERS="+brokers[0], "SLUICE_CHILD_GROUP="+group)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Let it work through part of the backlog, in steady state: long
		// enough for fetch buffers and the in-flight window to fill and for
		// several GC cycles.
		time.Sleep(30 * time.Second)
		peak := peakRSS(b, cmd.Process.Pid)
		offs, err := adm.FetchOffsets(context.Background(), group)
		if err != nil || committedSum(offs) < 50_000 {
			b.Errorf("the processor committed %d records in 30s (err %v); it should work through the backlog while memory is measured", committedSum(offs), err)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(peak)/float64(256<<20), "fraction-of-256MiB")
	}
}

func committedSum(o kadm.OffsetResponses) int64 {
	var s int64
	o.Each(func(r kadm.OffsetResponse) { s += r.At })
	return s
}

// peakRSS reads VmHWM (peak resident set) of pid from /proc.
func peakRSS(b testing.TB, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}

// TestChildSlowProcessor is the child of BenchmarkBacklogMemory.
func TestChildSlowProcessor(t *testing.T) {
	broker, group := os.Getenv("SLUICE_CHILD_BROKERS"), os.Getenv("SLUICE_CHILD_GROUP")
	if broker == "" || group == "" {
		return
	}
	p, err := pipeline.New(group, func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		time.Sleep(100 * time.Microsecond)
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}, pipeline.Topics("in"), pipeline.Workers(16), pipeline.ClientOptions(kgo.SeedBrokers(broker)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Run(context.Background())
}

// BenchmarkPoisonOverhead: the same passthrough input with 1% poison
// records (dead-lettered at once) against an all-good input, same broker,
// same run. Target: ratio >= 0.90.
func BenchmarkPoisonOverhead(b *testing.B) {
	const n = 100_000
	brokers := brokerProcess(b, 6, "good", "mixed", "out")
	produceFast(b, brokers, "good", n, 10_000)
	cl := newClient(b, brokers, kgo.ProducerLinger(5*time.Millisecond))
	for i := 0; i < n; i++ {
		v := []byte("ok")
		if i%100 == 0 {
			v = []byte("poison")
		}
		cl.Produce(context.Background(), &kgo.Record{Topic: "mixed", Key: []byte("k" + strconv.Itoa(i%10_000)), Value: v}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		if string(r.Value) == "poison" {
			return nil, pipeline.MarkPoison(errors.New("not Avro"))
		}
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	var good, mixed time.Duration
	for i := 0; i < b.N; i++ {
		good += sluiceLoopOnTime(b, brokers, "good", fmt.Sprintf("good-%d", i), n, h, pipeline.RetryDelays(time.Second))
		mixed += sluiceLoopOnTime(b, brokers, "mixed", fmt.Sprintf("mixed-%d", i), n, h, pipeline.RetryDelays(time.Second))
	}
	b.ReportMetric(float64(n)*float64(b.N)/good.Seconds(), "all-good-rec/s")
	b.ReportMetric(float64(n)*float64(b.N)/mixed.Seconds(), "1%-poison-rec/s")
	b.ReportMetric(good.Seconds()/mixed.Seconds(), "ratio")
}

// sluiceLoopOnTime is sluiceLoopOn's elapsed time alone.
func sluiceLoopOnTime(b testing.TB, brokers []string, topic, group string, n int64, h pipeline.Handler, opts ...pipeline.Option) time.Duration {
	elapsed, _ := sluiceLoopOn(b, brokers, topic, group, n, h, opts...)
	return elapsed
}
