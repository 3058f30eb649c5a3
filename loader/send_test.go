package loader

import (
	"context"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/schemas"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return ctx.Err()
}

func newSerde(t testing.TB) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The pacer and the generator's --duration on a simulated clock: 500/s for
// 10 s is 5,000 records, evenly spread.
func TestRateAndDurationOnTheLoadersClock(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	gen := NewGenerator(ordergen.Config{Seed: 1}, newSerde(t), 0, 10*time.Second, clock)
	defer gen.Close()
	p := pacer{clock: clock, rate: 500}
	ctx := context.Background()
	start := clock.Now()
	perSecond := map[int]int{}
	for {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := gen.Next(ctx); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		perSecond[int(clock.Now().Sub(start)/time.Second)]++
	}
	if n := gen.n.Load(); n != 5000 {
		t.Fatalf("%d records in 10 simulated seconds at 500/s, want 5000", n)
	}
	for s := range 10 {
		if perSecond[s] != 500 {
			t.Errorf("second %d had %d records, want 500: %v", s, perSecond[s], perSecond)
		}
	}
}

// A stall (here: the clock jumping 1 s) is made up for, so the average
// holds.
func TestPacerCatchesUpAfterAStall(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	p := pacer{clock: clock, rate: 1000}
	ctx := context.Background()
	for range 500 {
		_ = p.wait(ctx)
	}
	clock.now = clock.now.Add(time.Second)
	for range 1500 {
		_ = p.wait(ctx)
	}
	if got := clock.Now().Sub(time.Unix(0, 0)); got < 1990*time.Millisecond || got > 2010*time.Millisecond {
		t.Fatalf("2,000 records at 1,000/s with a 1 s stall took %v, want 2 s", got)
	}
}

func TestGeneratorSameSeedSameRecords(t *testing.T) {
	serde := newSerde(t)
	ctx := context.Background()
	read := func(seed int64) []Record {
		g := NewGenerator(ordergen.Config{Seed: seed, PoisonRate: 0.1}, serde, 500, 0, nil)
		defer g.Close()
		var out []Record
		for {
			r, err := g.Next(ctx)
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	a, b, other := read(7), read(7), read(8)
	// The same Config without poison: the same orders, encoded the fast way.
	plain := NewGenerator(ordergen.Config{Seed: 7}, serde, 500, 0, nil)
	defer plain.Close()
	for i, r := range a {
		p, err := plain.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Poison && !reflect.DeepEqual(p, r) {
			t.Fatalf("record %d (%s) differs without PoisonRate", i, r.Key)
		}
	}
	if len(a) != 500 {
		t.Fatalf("%d records, want --count 500", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generators with seed 7 made different records")
	}
	if reflect.DeepEqual(a, other) {
		t.Fatal("seeds 7 and 8 made the same records")
	}
}

// stopAfter is a Source that ends the load's context after n records, as
// Ctrl-C would.
type stopAfter struct {
	Source
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Next(ctx context.Context) (Record, error) {
	if s.n == 0 {
		s.cancel()
		return Record{}, ctx.Err()
	}
	s.n--
	return s.Source.Next(ctx)
}

func TestInterruptedSendFlushesAndSaysWhereToResume(t *testing.T) {
	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 3, nil)
	opts, err := ProducerOptions("lz4", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, opts...)
	m := mapping(t, "OrderPlaced", "order_id")
	files := NewFiles(m, newSerde(t), []Input{{Path: "../testdata/loader/orders.jsonl", Name: "orders.jsonl"}}, 1, nil)
	defer files.Close()
	ctx, cancel := context.WithCancel(context.Background())
	sum := NewSender(cl, "orders").Send(ctx, &stopAfter{Source: files, n: 120, cancel: cancel})
	if !sum.Interrupted || sum.Err != nil || sum.Sent != 120 || sum.Acked != 120 {
		t.Fatalf("summary %+v, want 120 sent and acknowledged, interrupted", sum)
	}
	if want := (Position{File: "orders.jsonl", Line: 121}); sum.Resume == nil || *sum.Resume != want {
		t.Fatalf("resume at %v, want %v", sum.Resume, want)
	}
	ends, err := kadm.NewClient(c.Client(t)).ListEndOffsets(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	var inKafka int64
	ends.Each(func(o kadm.ListedOffset) { inKafka += o.Offset })
	if inKafka != 120 {
		t.Fatalf("%d records in the topic, want the 120 sent", inKafka)
	}
}
