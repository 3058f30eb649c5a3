package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// consumeAll reads topic from the start until want records arrived or the
// timeout passed.
func consumeAll(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := newClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestFailedRecordsEndWhereTheyShould feeds a mix of good records, poison,
// records that fail k times and then pass, records that always fail and
// records that panic, through two retry tiers. Each must end processed or
// in the dead-letter topic after the right number of attempts, with
// headers that say why and where from; in = out + DLQ; and good records
// are not held up by the retrying ones.
func TestFailedRecordsEndWhereTheyShould(t *testing.T) {
	brokers := fakeKafka(t, 3, "in", "out")
	const firstDelay = time.Second
	var (
		mu       sync.Mutex
		failures = map[string]int{}
		goodLat  []time.Duration
	)
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		v := string(r.Value)
		kind, arg, _ := strings.Cut(v, ":")
		mu.Lock()
		defer mu.Unlock()
		switch kind {
		case "ok":
			goodLat = append(goodLat, time.Since(r.Timestamp))
		case "garbage":
			return nil, pipeline.MarkPoison(errors.New("first byte 0x7b is not Avro framing"))
		case "flaky": // arg: failures before success
			k, _ := strconv.Atoi(strings.Split(arg, "-")[0])
			if failures[v] < k {
				failures[v]++
				return nil, pipeline.MarkRetryable(fmt.Errorf("dependency unavailable (%d)", failures[v]))
			}
		case "always":
			failures[v]++
			return nil, pipeline.MarkRetryable(errors.New("still down"))
		case "bug":
			return nil, errors.New("nil customer")
		case "panic":
			panic("handler bug")
		}
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	var recs []*kgo.Record
	add := func(v string) { recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(v), Value: []byte(v)}) }
	for i := 0; i < 600; i++ {
		add(fmt.Sprintf("ok:%d", i))
		switch i % 60 {
		case 1:
			add(fmt.Sprintf("garbage:%d", i))
		case 2:
			add(fmt.Sprintf("flaky:1-%d", i))
		case 3:
			add(fmt.Sprintf("flaky:2-%d", i))
		case 4:
			add(fmt.Sprintf("flaky:3-%d", i)) // one more failure than tiers allow
		case 5:
			add(fmt.Sprintf("always:%d", i))
		case 6:
			add(fmt.Sprintf("panic:%d", i))
		case 7:
			add(fmt.Sprintf("bug:%d", i))
		}
	}
	cl := newClient(t, brokers)
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New("mixed", h, pipeline.Topics("in"), pipeline.RetryDelays(firstDelay, 2*firstDelay),
		pipeline.CommitInterval(50*time.Millisecond), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)

	wantOut := map[string]bool{}
	wantDLQ := map[string]struct {
		attempts int
		class    string
	}{}
	for _, r := range recs {
		v := string(r.Value)
		switch kind, arg, _ := strings.Cut(v, ":"); {
		case kind == "ok", kind == "flaky" && !strings.HasPrefix(arg, "3-"):
			wantOut[v] = true
		case kind == "flaky":
			wantDLQ[v] = struct {
				attempts int
				class    string
			}{3, "retryable"}
		case kind == "always":
			wantDLQ[v] = struct {
				attempts int
				class    string
			}{3, "retryable"}
		case kind == "garbage":
			wantDLQ[v] = struct {
				attempts int
				class    string
			}{1, "poison"}
		case kind == "panic":
			wantDLQ[v] = struct {
				attempts int
				class    string
			}{1, "panic"}
		case kind == "bug":
			wantDLQ[v] = struct {
				attempts int
				class    string
			}{1, "permanent"}
		}
	}
	out := consumeAll(t, brokers, "out", len(wantOut), 60*time.Second)
	dlq := consumeAll(t, brokers, "in.dlq", len(wantDLQ), 60*time.Second)
	waitUntil(t, 30*time.Second, "the group to commit everything", func() bool {
		for _, l := range lag(t, brokers, "mixed", "in") {
			if l != 0 {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	gotOut := map[string]bool{}
	for _, r := range out {
		gotOut[string(r.Value)] = true
	}
	for v := range wantOut {
		if !gotOut[v] {
			t.Errorf("%s: not processed", v)
		}
	}
	origin := map[string]*kgo.Record{}
	for _, r := range recs {
		origin[string(r.Value)] = r
	}
	gotDLQ := map[string]bool{}
	for _, r := range dlq {
		v := string(r.Value)
		gotDLQ[v] = true
		want, ok := wantDLQ[v]
		if !ok {
			t.Errorf("%s: in the DLQ but should have been processed", v)
			continue
		}
		o := origin[v]
		checks := map[string]string{
			failure.HeaderAttempts:        strconv.Itoa(want.attempts),
			failure.HeaderErrorClass:      want.class,
			failure.HeaderOriginTopic:     "in",
			failure.HeaderOriginPartition: strconv.Itoa(int(o.Partition)),
			failure.HeaderOriginOffset:    strconv.FormatInt(o.Offset, 10),
			failure.HeaderProcessor:       "mixed",
		}
		for k, w := range checks {
			if got := header(r, k); got != w {
				t.Errorf("%s: DLQ header %s = %q, want %q", v, k, got, w)
			}
		}
		if header(r, failure.HeaderError) == "" || string(r.Key) != v {
			t.Errorf("%s: DLQ record lacks the error or changed the key (%q)", v, r.Key)
		}
	}
	for v := range wantDLQ {
		if !gotDLQ[v] {
			t.Errorf("%s: not in the DLQ", v)
		}
	}
	if in, accounted := len(recs), len(gotOut)+len(gotDLQ); in != accounted {
		t.Errorf("in %d != out %d + DLQ %d", in, len(gotOut), len(gotDLQ))
	}
	sort.Slice(goodLat, func(i, j int) bool { return goodLat[i] < goodLat[j] })
	p99 := goodLat[len(goodLat)*99/100]
	t.Logf("in %d, out %d, DLQ %d; good records' p99 latency %v (first retry delay %v)", len(recs), len(gotOut), len(gotDLQ), p99, firstDelay)
	if p99 >= firstDelay {
		t.Errorf("good records' p99 latency %v is not under the first retry delay %v: retries held them up", p99, firstDelay)
	}
}

// TestKeyOrderedRetries: a key whose first record fails twice still
// delivers all of its records, in order, while other keys flow past.
func TestKeyOrderedRetries(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	var mu sync.Mutex
	fails := 0
	h := func(_ context.Context, r *pipeline.Record) ([]pipeline.Output, error) {
		mu.Lock()
		defer mu.Unlock()
		if string(r.Value) == "slow-0" && fails < 2 {
			fails++
			return nil, pipeline.MarkRetryable(errors.New("not yet"))
		}
		return []pipeline.Output{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	}
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte("slow"), Value: []byte(fmt.Sprintf("slow-%d", i))})
		recs = append(recs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprintf("other-%d", i)), Value: []byte(fmt.Sprintf("other-%d", i))})
	}
	if err := newClient(t, brokers).ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New("keyretry", h, pipeline.Topics("in"), pipeline.RetryDelays(200*time.Millisecond, 400*time.Millisecond),
		pipeline.Workers(4), pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	out := consumeAll(t, brokers, "out", len(recs), 30*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var slow, order []string
	for _, r := range out {
		order = append(order, string(r.Value))
		if string(r.Key) == "slow" {
			slow = append(slow, string(r.Value))
		}
	}
	want := make([]string, 10)
	for i := range want {
		want[i] = fmt.Sprintf("slow-%d", i)
	}
	if !slices.Equal(slow, want) {
		t.Fatalf("key slow delivered %v, want %v", slow, want)
	}
	if fails != 2 {
		t.Fatalf("slow-0 failed %d times, want 2", fails)
	}
	if order[0] == "slow-0" || slices.Index(order, "other-9") > slices.Index(order, "slow-0") {
		t.Fatalf("other keys waited for the retried key: output order %v", order)
	}
	if dlq := consumeAll(t, brokers, "in.dlq", 1, time.Second); len(dlq) != 0 {
		t.Fatalf("%d records in the DLQ, want none", len(dlq))
	}
}
