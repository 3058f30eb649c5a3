package orderchain

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/processors/score"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

// Orders returns n orders of ordergen's deterministic sequence for seed:
// about 3% break a business rule (validate rejects them) and a few percent
// look like fraud (decide rejects them). Order IDs carry the seed, so
// chains with different seeds never share one.
func Orders(seed int64, n int) []order.Placed {
	g := ordergen.New(ordergen.Config{Seed: seed})
	out := make([]order.Placed, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Expected is the outcome the chain must reach for one order, computed in
// the test process with the processors' own packages and the settings the
// containers run with.
type Expected struct {
	// Statuses are the states the order goes through, in order:
	// VALIDATED, SCORED, then CONFIRMED or REJECTED; or REJECTED alone when
	// validate rejects it.
	Statuses []order.State
	Decision order.Decision
}

// Final returns the order's last state.
func (e Expected) Final() order.State { return e.Statuses[len(e.Statuses)-1] }

// Valid reports whether the order passes validate (and so reaches score).
func (e Expected) Valid() bool { return len(e.Statuses) > 1 }

// Sent is what a test produced to a chain's input topic.
type Sent struct {
	mu       sync.Mutex
	Orders   []order.Placed
	Expected map[string]Expected // by order ID
	// At is where each order landed in the input topic, by order ID.
	At map[string]Position
}

// Position is a record's place in a topic.
type Position struct {
	Partition int32
	Offset    int64
}

// NewSent returns an empty Sent.
func NewSent() *Sent {
	return &Sent{Expected: map[string]Expected{}, At: map[string]Position{}}
}

// Expect records orders in sent with the outcomes the chain must reach for
// them, without producing them: for orders another client produces.
func (c *Chain) Expect(sent *Sent, orders []order.Placed) {
	cfg := chain.DefaultConfig()
	cfg.ModelTrees = c.trees
	model := score.NewModel(cfg.ModelSeed, cfg.ModelTrees, cfg.ModelDepth)
	sent.mu.Lock()
	defer sent.mu.Unlock()
	for _, p := range orders {
		sent.Orders = append(sent.Orders, p)
		sent.Expected[p.OrderID] = expect(p, model, cfg.Policy)
	}
}

// Produce writes orders to the chain's input topic (acks=all, idempotent)
// and records them, their expected outcomes and positions in sent. It fails
// t if any record is not acknowledged within timeout.
func (c *Chain) Produce(t testing.TB, sent *Sent, orders []order.Placed, timeout time.Duration) {
	t.Helper()
	cl := c.producer(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.produce(ctx, cl, newSerde(t), sent, orders); err != nil {
		t.Fatalf("orderchain: %v", err)
	}
}

// ProduceOver produces orders in the background in 50 even chunks spread
// over d, so that faults can hit a pipeline that is busy, and returns a
// function that waits for the last acknowledgement and fails t on error.
// Call the returned function from the test goroutine.
func (c *Chain) ProduceOver(t testing.TB, sent *Sent, orders []order.Placed, d time.Duration) (wait func()) {
	t.Helper()
	cl := c.producer(t)
	serde := newSerde(t)
	const chunks = 50
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
		defer cancel()
		start := time.Now()
		size := (len(orders) + chunks - 1) / chunks
		for i := 0; i < len(orders); i += size {
			time.Sleep(time.Until(start.Add(d * time.Duration(i/size) / chunks)))
			if err := c.produce(ctx, cl, serde, sent, orders[i:min(i+size, len(orders))]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	return func() {
		t.Helper()
		if err := <-errc; err != nil {
			t.Fatalf("orderchain: %v", err)
		}
	}
}

func (c *Chain) producer(t testing.TB) *kgo.Client {
	return c.k.Client(t, kgo.DefaultProduceTopic(c.Topics.Placed), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200_000))
}

func (c *Chain) produce(ctx context.Context, cl *kgo.Client, serde *schemas.Serde, sent *Sent, orders []order.Placed) error {
	recs := make([]*kgo.Record, len(orders))
	for i, p := range orders {
		v, err := order.Encode(ctx, serde, p)
		if err != nil {
			return fmt.Errorf("encode order %s: %w", p.OrderID, err)
		}
		recs[i] = &kgo.Record{Key: p.Key(), Value: v}
	}
	c.Expect(sent, orders)
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		return fmt.Errorf("produce %d orders to %s: %w", len(orders), c.Topics.Placed, err)
	}
	sent.mu.Lock()
	defer sent.mu.Unlock()
	for _, r := range res {
		sent.At[string(r.Record.Key)] = Position{r.Record.Partition, r.Record.Offset}
	}
	return nil
}

// expect runs an order through the stages' own functions in-process (the
// containers run the same functions behind their codecs), following each
// event to the stage that reads it, and notes the statuses and the decision.
func expect(p order.Placed, model *score.Model, policy decide.Policy) Expected {
	now := time.Now()
	var e Expected
	for next := validate.Outputs(p, validate.Topics{}, now); len(next) > 0; {
		var after []order.Message
		for _, m := range next {
			switch ev := m.Value.(type) {
			case order.Status:
				e.Statuses = append(e.Statuses, ev.State)
			case order.Validated:
				after = append(after, score.Outputs(ev, model, score.Topics{}, now)...)
			case order.Scored:
				after = append(after, decide.Outputs(ev, policy, decide.Topics{}, now)...)
			case order.Decided:
				e.Decision = ev.Decision
			}
		}
		next = after
	}
	return e
}

func newSerde(t testing.TB) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatalf("orderchain: serde: %v", err)
	}
	return s
}

// count returns how many orders were sent, and how many of them are valid.
func (s *Sent) count() (all, valid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.Expected {
		if e.Valid() {
			valid++
		}
	}
	return len(s.Expected), valid
}

func (s *Sent) String() string {
	all, valid := s.count()
	return fmt.Sprintf("%d orders (%d valid)", all, valid)
}
