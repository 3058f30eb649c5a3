package main

import (
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/schemas"
)

// TestMain also runs this test binary as the child processes of the
// benchmarks: a broker (kafkatest.NewFakeProcess) or the loader itself
// (SLUICE_CHILD_LOADER_ARGS).
func TestMain(m *testing.M) {
	if args := os.Getenv("SLUICE_CHILD_LOADER_ARGS"); args != "" {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400) // as main does
		}
		os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
	}
	kafkatest.Main(m)
}

const testdata = "../../testdata/loader/"

type result struct {
	code           int
	stdout, stderr string
}

func loadCLI(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := run(ctx, append([]string{"--progress-interval", "0"}, args...), stdin, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func newCluster(t *testing.T, topics ...string) *kafkatest.Fake {
	c := kafkatest.NewFake(t)
	for _, topic := range topics {
		c.CreateTopic(t, topic, 3, nil)
	}
	return c
}

// consume reads every record of topic, partition by partition in offset
// order.
func consume(t *testing.T, c kafkatest.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(c.Client(t)).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var recs []*kgo.Record
	if want == 0 {
		return nil
	}
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for int64(len(recs)) < want {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %d of %d records: %v", topic, len(recs), want, err)
		}
		recs = append(recs, fs.Records()...)
	}
	return recs
}

func serde(t testing.TB) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sourceOrders reads the sample orders with ordergen's own parser, an
// independent reading of the file.
func sourceOrders(t *testing.T, path string) map[string]order.Placed {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]order.Placed{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, err := ordergen.ParseJSONL(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out[p.OrderID] = p
	}
	return out
}

func TestRoundTripComparesEveryFieldWithTheSource(t *testing.T) {
	want := sourceOrders(t, testdata+"orders.jsonl")
	for _, file := range []string{"orders.jsonl", "orders.csv"} {
		t.Run(file, func(t *testing.T) {
			c := newCluster(t, "orders")
			r := loadCLI(t, context.Background(), nil, "--brokers", c.Brokers()[0], testdata+file)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "sent 200, acknowledged 200, failed 0") {
				t.Errorf("summary: %s", r.stdout)
			}
			recs := consume(t, c, "orders")
			if len(recs) != len(want) {
				t.Fatalf("%d records in the topic, want %d", len(recs), len(want))
			}
			s := serde(t)
			for _, rec := range recs {
				got, err := order.DecodePlaced(context.Background(), s, rec.Value)
				if err != nil {
					t.Fatalf("record %s: %v", rec.Key, err)
				}
				if string(rec.Key) != got.OrderID {
					t.Errorf("record keyed %q holds order %s; want it keyed by --key-field order_id", rec.Key, got.OrderID)
				}
				if !reflect.DeepEqual(got, want[got.OrderID]) {
					t.Errorf("order %s:\n got %+v\nwant %+v", got.OrderID, got, want[got.OrderID])
				}
			}
		})
	}
}

func TestRoundTripOfAnotherSchemaFromStdin(t *testing.T) {
	c := newCluster(t, "orders.decided")
	in, err := os.ReadFile(testdata + "decided.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	r := loadCLI(t, context.Background(), bytes.NewReader(in), "--brokers", c.Brokers()[0],
		"--topic", "orders.decided", "--schema", "OrderDecided", "-")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := map[string]order.Decided{}
	for _, rec := range consume(t, c, "orders.decided") {
		d, err := order.DecodeDecided(context.Background(), serde(t), rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[d.OrderID] = d
	}
	risk := 0.97
	want := order.Decided{OrderID: "o-42-9", CustomerID: "c-00009", Decision: order.DecisionRejected, Reason: "risk score 0.97",
		Stage: "decide", RiskScore: &risk, TotalCents: 50000, Currency: "USD",
		PlacedAt: time.Date(2026, 3, 2, 9, 10, 0, 0, time.UTC), DecidedAt: time.Date(2026, 3, 2, 8, 10, 0, 500e6, time.UTC)}
	if len(got) != 3 || !reflect.DeepEqual(got["o-42-9"], want) || got["o-42-7"].RiskScore != nil || got["o-42-1"].Reason != "" {
		t.Fatalf("decoded %+v", got)
	}
}

// The messages for testdata/loader's bad files, exactly.
var (
	badJSONL = []string{
		`bad.jsonl:3: field "lines[1].quantity": expected int, got "three"`,
		`bad.jsonl:5: field "currency": missing, expected string`,
		`bad.jsonl:6: field "placed_at": expected timestamp (RFC 3339 or epoch milliseconds), got "yesterday"`,
		`bad.jsonl:8: invalid JSON: invalid character 'o' looking for beginning of value (at byte 1)`,
		`bad.jsonl:9: field "currency": missing, expected string`,
		`bad.jsonl:9: field "curency": not a field of sluice.orders.OrderPlaced`,
		`bad.jsonl:10: field "total_cents": expected long, got 12.5`,
		`bad.jsonl:11: field "lines[0].quantity": expected int, got 3000000000 (out of range)`,
		`bad.jsonl:12: expected a JSON object (sluice.orders.OrderPlaced), got an array of 2`,
	}
	badCSV = []string{
		`bad.csv:3: field "lines[0].quantity": expected int, got "three"`,
		`bad.csv:4: field "total_cents": expected long, got an empty cell`,
		`bad.csv:5: expected 8 cells (one per header column), got 7`,
		`bad.csv:6: field "lines": expected array of object (sluice.orders.OrderLine) as a JSON-encoded cell, got "MUG-2001 x2"`,
		`bad.csv:8: field "placed_at": expected timestamp (RFC 3339 or epoch milliseconds), got "2026-13-01"`,
	}
	badHeader = []string{
		`bad_header.csv:1: field "curency": column 4 is not a field of sluice.orders.OrderPlaced (fields: order_id, customer_id, placed_at, currency, lines, total_cents, shipping_country, channel)`,
		`bad_header.csv:1: field "currency": missing column, expected string (the field has no default)`,
	}
)

// messages returns stderr's lines with the test data directory removed.
func messages(stderr string) []string {
	return strings.Split(strings.TrimSpace(strings.ReplaceAll(stderr, testdata, "")), "\n")
}

func TestBadFilesAreReportedRowByRowAndNothingIsSent(t *testing.T) {
	for _, c := range []struct {
		file    string
		want    []string
		summary string
	}{
		{"bad.jsonl", badJSONL, "8 of 12 rows are invalid: nothing was sent"},
		{"bad.csv", badCSV, "5 of 9 rows are invalid: nothing was sent"},
		{"bad_header.csv", badHeader, "1 of 1 rows are invalid: nothing was sent"},
	} {
		t.Run(c.file, func(t *testing.T) {
			cluster := newCluster(t, "orders")
			r := loadCLI(t, context.Background(), nil, "--brokers", cluster.Brokers()[0], testdata+c.file)
			if r.code != exitFailed {
				t.Errorf("exit %d, want %d", r.code, exitFailed)
			}
			if got := messages(r.stderr); !reflect.DeepEqual(got, c.want) {
				t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if !strings.Contains(r.stdout, c.summary) {
				t.Errorf("stdout %q, want it to say %q", r.stdout, c.summary)
			}
			if recs := consume(t, cluster, "orders"); len(recs) != 0 {
				t.Fatalf("%d records produced from a bad file in validate-first mode, want none", len(recs))
			}
		})
	}
}

func TestValidateOnlyNeedsNoBroker(t *testing.T) {
	r := loadCLI(t, context.Background(), nil, "--brokers", "127.0.0.1:1", "--validate-only", testdata+"bad.jsonl", testdata+"orders.csv")
	if r.code != exitFailed || !reflect.DeepEqual(messages(r.stderr), badJSONL) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if want := "212 rows checked against sluice.orders.OrderPlaced v2: 204 valid, 8 invalid\n"; r.stdout != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	if r := loadCLI(t, context.Background(), nil, "--validate-only", testdata+"orders.csv"); r.code != exitOK {
		t.Fatalf("valid file: exit %d\n%s", r.code, r.stderr)
	}
}

func TestSkipInvalidSendsValidRowsAndWritesRejects(t *testing.T) {
	c := newCluster(t, "orders")
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	r := loadCLI(t, context.Background(), nil, "--brokers", c.Brokers()[0], "--skip-invalid", "--reject-file", rejects,
		testdata+"bad.jsonl", testdata+"bad.csv")
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d when rows were rejected", r.code, exitFailed)
	}
	if got, want := messages(r.stderr), append(append([]string(nil), badJSONL...), badCSV...); !reflect.DeepEqual(got, want) {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var keys []string
	for _, rec := range consume(t, c, "orders") {
		keys = append(keys, string(rec.Key))
	}
	slices.Sort(keys)
	if want := []string{"o-c-11", "o-c-2", "o-c-7", "o-c-9", "o-t-1", "o-t-13", "o-t-2", "o-t-7"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("sent %v, want the valid rows %v", keys, want)
	}
	b, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 13 {
		t.Fatalf("%d rejected rows, want 13:\n%s", len(lines), b)
	}
	want := `{"file":"` + testdata + `bad.jsonl","line":9,"problems":["field \"currency\": missing, expected string","field \"curency\": not a field of sluice.orders.OrderPlaced"],"row":`
	if !strings.HasPrefix(lines[4], want) {
		t.Errorf("reject line 5:\n%s\nwant it to start\n%s", lines[4], want)
	}
	if !strings.Contains(r.stdout, "rejected 13 invalid rows") {
		t.Errorf("stdout: %s", r.stdout)
	}
}

// Ctrl-C mid-load, then a rerun with the --from-line it printed: every row
// ends up in the topic exactly once.
func TestInterruptThenFromLineLoadsEveryRowOnce(t *testing.T) {
	c := newCluster(t, "orders")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			time.Sleep(20 * time.Millisecond)
			if n := endOffset(t, c, "orders"); n >= 50 {
				cancel()
				return
			}
		}
	}()
	r := loadCLI(t, ctx, nil, "--brokers", c.Brokers()[0], "--rate", "200", testdata+"orders.jsonl")
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, exitInterrupted, r.stdout, r.stderr)
	}
	var line int
	var rest string
	i := strings.Index(r.stdout, "--from-line ")
	if i < 0 {
		t.Fatalf("no --from-line in\n%s", r.stdout)
	}
	if _, err := fmt.Sscanf(r.stdout[i:], "--from-line %d %s", &line, &rest); err != nil || rest != testdata+"orders.jsonl" {
		t.Fatalf("resume instructions %q: %v", r.stdout[i:], err)
	}
	first := consume(t, c, "orders")
	if len(first) != line-1 {
		t.Fatalf("%d records in Kafka, but the loader says to resume at line %d", len(first), line)
	}
	r = loadCLI(t, context.Background(), nil, "--brokers", c.Brokers()[0], "--from-line", fmt.Sprint(line), rest)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	seen := map[string]int{}
	for _, rec := range consume(t, c, "orders") {
		seen[string(rec.Key)]++
	}
	for id := range sourceOrders(t, testdata+"orders.jsonl") {
		if seen[id] != 1 {
			t.Errorf("order %s is in the topic %d times, want once", id, seen[id])
		}
	}
}

func endOffset(t *testing.T, c kafkatest.Cluster, topic string) int64 {
	ends, err := kadm.NewClient(c.Client(t)).ListEndOffsets(context.Background(), topic)
	if err != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func TestGeneratorSameSeedSameRecords(t *testing.T) {
	c := kafkatest.NewFake(t)
	for _, topic := range []string{"a", "b", "c"} {
		c.CreateTopic(t, topic, 1, nil)
	}
	for topic, seed := range map[string]string{"a": "5", "b": "5", "c": "6"} {
		r := loadCLI(t, context.Background(), nil, "--brokers", c.Brokers()[0], "--topic", topic, "--seed", seed, "--count", "2000", "--poison-rate", "0.05")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	a, b, other := consume(t, c, "a"), consume(t, c, "b"), consume(t, c, "c")
	if len(a) != 2000 || len(b) != 2000 {
		t.Fatalf("%d and %d records, want --count 2000", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("record %d differs between two runs with --seed 5", i)
		}
	}
	if bytes.Equal(a[0].Value, other[0].Value) {
		t.Fatal("--seed 5 and --seed 6 made the same first record")
	}
}

// --rate 500 for --duration 10s: the records' producer timestamps, taken
// when each was handed to the client, show the rate the loader kept; the
// count shows the duration held.
func TestRateHoldsWithinTenPercentOverTenSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 seconds")
	}
	c := newCluster(t, "orders")
	r := loadCLI(t, context.Background(), nil, "--brokers", c.Brokers()[0], "--rate", "500", "--duration", "10s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	recs := consume(t, c, "orders")
	if n := len(recs); n < 4500 || n > 5500 {
		t.Fatalf("%d records in 10 s at 500/s, want 5,000 ± 10%%", n)
	}
	first, last := recs[0].Timestamp, recs[0].Timestamp
	perSecond := map[int64]int{}
	for _, rec := range recs {
		if rec.Timestamp.Before(first) {
			first = rec.Timestamp
		}
		if rec.Timestamp.After(last) {
			last = rec.Timestamp
		}
	}
	for _, rec := range recs {
		perSecond[int64(rec.Timestamp.Sub(first)/time.Second)]++
	}
	rate := float64(len(recs)-1) / last.Sub(first).Seconds()
	if rate < 450 || rate > 550 {
		t.Fatalf("%d records over %v of timestamps: %.0f/s, want 500 ± 10%%", len(recs), last.Sub(first), rate)
	}
	t.Logf("%d records, %.1f/s over %v; per second: %v", len(recs), rate, last.Sub(first), perSecond)
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to load"},
		{[]string{"--count", "5", "x.jsonl"}, "not both"},
		{[]string{"--validate-only", "--skip-invalid", "x.jsonl"}, "do not go together"},
		{[]string{"--count", "5", "--schema", "OrderStatus"}, "generator makes OrderPlaced records only"},
		{[]string{"--schema", "Nope", "x.jsonl"}, "unknown schema"},
		{[]string{"--key-field", "lines", "--validate-only", testdata + "orders.jsonl"}, "is not a string, enum, int or long field"},
		{[]string{"--validate-only", "missing.jsonl"}, "no such file"},
		{[]string{"--count", "5", "--tls-cert", "client.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--count", "5", "--sasl-user", "loader"}, "need --sasl-mechanism"},
	} {
		r := loadCLI(t, context.Background(), nil, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, exitUsage, c.want)
		}
	}
}

// TestTopicDeniedIsNotReportedAsMissing: a principal that may not see the
// topic gets an authorization error naming it, and one that may see but
// not write it gets the produce refusal saying it needs WRITE; neither is
// told the topic does not exist, or that Kafka cannot be reached.
func TestTopicDeniedIsNotReportedAsMissing(t *testing.T) {
	acl := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "orders", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "stranger", "stranger-pass"),
		kfake.User("PLAIN", "reader", "reader-pass", acl(kmsg.ACLOperationDescribe)),
		kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, tc := range []struct{ user, want string }{
		{"stranger", `not authorized on topic "orders"`},
		// kfake, like Kafka, refuses the idempotent producer's ID to a
		// principal with no WRITE on any topic.
		{"reader", "WRITE on the topics it produces to"},
	} {
		r := loadCLI(t, context.Background(), nil, "--brokers", strings.Join(c.ListenAddrs(), ","), "--topic", "orders", "--count", "3",
			"--sasl-mechanism", "PLAIN", "--sasl-user", tc.user, "--sasl-password", tc.user+"-pass", "--delivery-timeout", "5s")
		if r.code != exitFailed || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "does not exist") || strings.Contains(r.stderr, "cannot reach Kafka") {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.user, r.code, r.stderr, exitFailed, tc.want)
		}
		if strings.Contains(r.stderr+r.stdout, tc.user+"-pass") {
			t.Errorf("%s: the password is in the output", tc.user)
		}
	}
}
