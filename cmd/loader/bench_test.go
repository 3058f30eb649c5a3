package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/ordergen"
)

// kcat's key and message delimiters for the pre-encoded file. Avro binary
// can hold any byte, so they are long enough never to occur in a record by
// chance; writeKcatInput checks that none does.
const (
	kcatKeyDelim = "\x1f\xfe\x1f\xfd\x1f\xfc" // no NUL: kcat reads the escapes into a C string
	kcatMsgDelim = "\x1e\xfe\x1e\xfd\x1e\xfc"
)

func kcatEscape(d string) string {
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		fmt.Fprintf(&b, `\x%02x`, d[i])
	}
	return b.String()
}

// benchRecords is how many records each side sends: SLUICE_BENCH_RECORDS,
// default 300,000.
func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 300_000
}

// BenchmarkGeneratorVsKcat compares the loader's generator mode with kcat
// -P sending the same records, pre-encoded, to the same broker: an embedded
// kfake broker in its own process. Target: ratio (loader/kcat) >= 1. kcat
// must be on PATH (Debian: apt-get install -y kcat); nothing is installed.
//
//	go test -run '^$' -bench GeneratorVsKcat -benchtime 1x ./cmd/loader/
func BenchmarkGeneratorVsKcat(b *testing.B) {
	kcat := lookKcat(b)
	brokers := brokerProcess(b)
	adm := kadm.NewClient(newBenchClient(b, brokers))
	compareWithKcat(b, kcat, brokers, func(topic string) {
		resp, err := adm.CreateTopic(context.Background(), 6, 1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			b.Fatalf("create topic %s: %v", topic, err)
		}
	})
}

func lookKcat(b *testing.B) string {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		b.Skip("kcat is not on PATH (Debian: apt-get install -y kcat); it is the baseline of this benchmark")
	}
	return kcat
}

func newBenchClient(b *testing.B, brokers []string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// benchCodecs are the compressions compared: kcat's default (none) and
// the loader's (snappy), each side using the same one.
var benchCodecs = []string{"none", "snappy"}

// compareWithKcat runs kcat and the loader b.N times each per codec,
// alternating, each into a fresh topic made by create, checks that both
// topics hold exactly the same records, and reports both rates and their
// ratio (loader/kcat; the target is >= 1).
func compareWithKcat(b *testing.B, kcat string, brokers []string, create func(topic string)) {
	n := benchRecords()
	const seed = 42
	input := filepath.Join(b.TempDir(), "records.kcat")
	want := writeKcatInput(b, input, seed, n)
	rows := []string{"codec    run    kcat rec/s  loader rec/s   ratio"}
	for _, codec := range benchCodecs {
		var kcatTime, loaderTime time.Duration
		for i := 0; i < b.N; i++ {
			kt, lt := fmt.Sprintf("kcat-%s-%d", codec, i), fmt.Sprintf("loader-%s-%d", codec, i)
			create(kt)
			create(lt)
			k := timeCommand(b, exec.Command(kcat, "-P", "-q", "-b", strings.Join(brokers, ","), "-t", kt, "-z", codec,
				"-K", kcatEscape(kcatKeyDelim), "-D", kcatEscape(kcatMsgDelim), "-l", input))
			loaderCmd := exec.Command(os.Args[0], "-test.run=^$")
			loaderCmd.Env = append(os.Environ(), "SLUICE_CHILD_LOADER_ARGS="+strings.Join([]string{
				"--brokers", strings.Join(brokers, ","), "--topic", lt, "--count", strconv.Itoa(n),
				"--seed", strconv.Itoa(seed), "--compression", codec, "--progress-interval", "0"}, "\x1f"))
			l := timeCommand(b, loaderCmd)
			for topic, elapsed := range map[string]time.Duration{kt: k, lt: l} {
				if got := topicDigest(b, brokers, topic, n); got != want {
					b.Fatalf("%s (%v) does not hold the %d pre-encoded records: digest %x, want %x", topic, elapsed, n, got, want)
				}
			}
			kcatTime += k
			loaderTime += l
			rows = append(rows, fmt.Sprintf("%-6s %5d  %12.0f  %12.0f  %6.2f", codec, i+1, float64(n)/k.Seconds(), float64(n)/l.Seconds(), k.Seconds()/l.Seconds()))
		}
		kr, lr := float64(n*b.N)/kcatTime.Seconds(), float64(n*b.N)/loaderTime.Seconds()
		b.ReportMetric(kr, "kcat-"+codec+"-rec/s")
		b.ReportMetric(lr, "loader-"+codec+"-rec/s")
		b.ReportMetric(lr/kr, "ratio-"+codec)
		rows = append(rows, fmt.Sprintf("%-6s   all  %12.0f  %12.0f  %6.2f", codec, kr, lr, lr/kr))
	}
	b.Logf("%d records of ordergen seed %d (single-object Avro, keyed by order ID) per run; wall time of each process; broker %s\n%s",
		n, seed, strings.Join(brokers, ","), strings.Join(rows, "\n"))
}

// writeKcatInput writes n generator records as kcat -P -K -D input and
// returns their digest.
func writeKcatInput(b *testing.B, path string, seed int64, n int) uint64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	gen := ordergen.New(ordergen.Config{Seed: seed})
	s := serde(b)
	var digest uint64
	for i := 0; i < n; i++ {
		key, value, _, err := gen.NextRecord(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []string{kcatKeyDelim, kcatMsgDelim} {
			if bytes.Contains(key, []byte(d)) || bytes.Contains(value, []byte(d)) {
				b.Fatalf("record %d (%s) contains a kcat delimiter: pick longer ones", i, key)
			}
		}
		w.Write(key)
		w.WriteString(kcatKeyDelim)
		w.Write(value)
		w.WriteString(kcatMsgDelim)
		digest += recordHash(key, value)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return digest
}

func recordHash(key, value []byte) uint64 {
	h := fnv.New64a()
	h.Write(key)
	h.Write([]byte{0})
	h.Write(value)
	return h.Sum64()
}

// topicDigest consumes n records of topic and sums their hashes, a digest
// that does not depend on partitioning or order.
func topicDigest(b *testing.B, brokers []string, topic string, n int) uint64 {
	cl := newBenchClient(b, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var digest uint64
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			b.Fatalf("consume %s: %d of %d records: %v", topic, got, n, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			digest += recordHash(r.Key, r.Value)
			got++
		})
	}
	return digest
}

func timeCommand(b *testing.B, cmd *exec.Cmd) time.Duration {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Args[0], err, stderr.String())
	}
	return time.Since(start)
}

// brokerProcess starts a kfake broker in a child process, so that its CPU
// is not the benchmark's, and returns its address.
func brokerProcess(b *testing.B) []string {
	k := kafkatest.NewFakeProcess(b)
	k.CreateTopic(b, "warmup", 6, nil)
	return k.Brokers()
}
