package main

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

// tally counts the distinct orders on each of the pipeline's topics, the
// outcomes on orders.decided and the poison records produced to orders and
// dead-lettered to orders.dlq (told apart from orders by their poison- key),
// by reading the topics from the start outside any consumer group (so it
// commits nothing and disturbs no processor). Counting distinct keys rather than records keeps the counts exact
// even if a stage reprocessed records after a crash.
//
// follow's goroutine is the only writer; mu guards everything below it for
// the readers (progress, summary).
type tally struct {
	serde *schemas.Serde
	log   *slog.Logger

	mu         sync.Mutex
	next       map[string]map[int32]int64 // topic -> partition -> offset after the last record read
	seen       map[string]map[string]bool // topic -> keys: order IDs and poison keys
	confirmed  int
	rejected   int
	byValidate int            // decisions validate made: rejections that skip score
	reasons    map[string]int // rejection reason, numbers elided -> orders
	examples   map[string]string
	badRecords int             // orders.decided records that did not decode
	poisonIn   int             // poison keys on orders
	poisonDLQ  int             // poison keys on orders.dlq
	ordersDLQ  int             // other keys on orders.dlq: orders the pipeline gave up on
	dlqClasses map[string]bool // error classes the poison records were dead-lettered with
	dlqMaxTry  int             // most attempts a poison record had before it was dead-lettered
	dlqExample string          // the error of the dead-lettered poison record with the lowest number
	exampleKey string          // its key
}

// tallyTopics are the topics a tally follows.
var tallyTopics = []string{order.TopicPlaced, order.TopicValidated, order.TopicScored, order.TopicDecided, topicDLQ}

func newTally(serde *schemas.Serde, log *slog.Logger) *tally {
	t := &tally{
		serde: serde, log: log,
		next: map[string]map[int32]int64{}, seen: map[string]map[string]bool{},
		reasons: map[string]int{}, examples: map[string]string{}, dlqClasses: map[string]bool{},
	}
	for _, topic := range tallyTopics {
		t.next[topic] = map[int32]int64{}
		t.seen[topic] = map[string]bool{}
	}
	return t
}

// follow reads the topics into t until ctx ends. It calls caughtUp once it
// has read every record that was there when it started: from then on, t
// knows every order a previous run produced. cl must consume tallyTopics
// from the start without a group (see tallyClientOpts).
func (t *tally) follow(ctx context.Context, cl *kgo.Client, caughtUp func()) error {
	start, err := kadm.NewClient(cl).ListEndOffsets(ctx, tallyTopics...)
	if err == nil {
		err = start.Error()
	}
	if err != nil {
		return fmt.Errorf("tally: list end offsets: %w", err)
	}
	behind := true
	for {
		if behind && t.hasRead(start) {
			behind = false
			caughtUp()
		}
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return fmt.Errorf("tally: %w", kgo.ErrClientClosed)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.log.WarnContext(ctx, "tally fetch failed", "topic", topic, "partition", p, "err", err)
		})
		fetches.EachRecord(func(r *kgo.Record) { t.add(ctx, r) })
	}
}

// hasRead reports whether t has read every record before the given end
// offsets.
func (t *tally) hasRead(ends kadm.ListedOffsets) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := true
	ends.Each(func(e kadm.ListedOffset) {
		all = all && t.next[e.Topic][e.Partition] >= e.Offset
	})
	return all
}

func tallyClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumeTopics(tallyTopics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
}

func (t *tally) add(ctx context.Context, r *kgo.Record) {
	var d order.Decided
	var dl *deadletter.Record
	var err error
	switch r.Topic {
	case order.TopicDecided:
		d, err = order.DecodeDecided(ctx, t.serde, r.Value)
	case topicDLQ:
		dl = deadletter.Parse(r)
	}
	id := string(r.Key)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next[r.Topic][r.Partition] = r.Offset + 1
	if err != nil {
		t.badRecords++
		return
	}
	if t.seen[r.Topic][id] {
		return
	}
	t.seen[r.Topic][id] = true
	switch r.Topic {
	case order.TopicPlaced:
		if isPoisonKey(id) {
			t.poisonIn++
		}
	case topicDLQ:
		t.deadLettered(id, dl)
	case order.TopicDecided:
		t.decided(id, d)
	}
}

// decided counts an order's first record on orders.decided. mu is held.
func (t *tally) decided(id string, d order.Decided) {
	if d.Decision == order.DecisionConfirmed {
		t.confirmed++
		t.example("confirmed", id)
		return
	}
	t.rejected++
	if d.Stage == validate.Stage {
		t.byValidate++
	}
	t.reasons[d.Stage+": "+reasonKind(d.Reason)]++
	t.example("rejected by "+d.Stage, id)
}

// deadLettered counts a key's first record on orders.dlq. mu is held.
func (t *tally) deadLettered(id string, r *deadletter.Record) {
	if !isPoisonKey(id) {
		t.ordersDLQ++
		return
	}
	t.poisonDLQ++
	t.dlqClasses[r.ErrorClass] = true
	t.dlqMaxTry = max(t.dlqMaxTry, r.Attempts)
	// The lowest number rather than the first read, so every run shows the
	// same example.
	if t.exampleKey == "" || len(id) < len(t.exampleKey) || len(id) == len(t.exampleKey) && id < t.exampleKey {
		t.dlqExample, t.exampleKey = r.Error, id
	}
}

// example remembers the first order of each kind, for the curl examples.
func (t *tally) example(kind, id string) {
	if _, ok := t.examples[kind]; !ok {
		t.examples[kind] = id
	}
}

// has reports whether an order with this ID is on topic.
func (t *tally) has(topic, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen[topic][id]
}

// counts are a tally's numbers at one moment.
type counts struct {
	placed, validated, scored, decided int
	confirmed, rejected                int
	byValidate                         int           // of decided: rejected by validate, never scored
	reasons                            []reasonCount // most frequent first
	examples                           map[string]string
	badRecords                         int

	poison     int      // poison records on orders
	poisonDLQ  int      // of them in orders.dlq
	ordersDLQ  int      // orders (not poison) in orders.dlq
	dlqClasses []string // error classes of the poison records in orders.dlq, sorted
	dlqMaxTry  int
	dlqExample string
}

// accountedFor reports whether every order is decided and every poison
// record dead-lettered.
func (c counts) accountedFor() bool {
	return c.decided == c.placed && c.poisonDLQ == c.poison
}

type reasonCount struct {
	reason string
	orders int
}

func (t *tally) counts() counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := counts{
		placed:     len(t.seen[order.TopicPlaced]) - t.poisonIn,
		validated:  len(t.seen[order.TopicValidated]),
		scored:     len(t.seen[order.TopicScored]),
		decided:    len(t.seen[order.TopicDecided]),
		confirmed:  t.confirmed,
		rejected:   t.rejected,
		byValidate: t.byValidate,
		examples:   make(map[string]string, len(t.examples)),
		badRecords: t.badRecords,
		poison:     t.poisonIn,
		poisonDLQ:  t.poisonDLQ,
		ordersDLQ:  t.ordersDLQ,
		dlqMaxTry:  t.dlqMaxTry,
		dlqExample: t.dlqExample,
	}
	for class := range t.dlqClasses {
		c.dlqClasses = append(c.dlqClasses, class)
	}
	sort.Strings(c.dlqClasses)
	for r, n := range t.reasons {
		c.reasons = append(c.reasons, reasonCount{r, n})
	}
	sort.Slice(c.reasons, func(i, j int) bool {
		if c.reasons[i].orders != c.reasons[j].orders {
			return c.reasons[i].orders > c.reasons[j].orders
		}
		return c.reasons[i].reason < c.reasons[j].reason
	})
	for k, v := range t.examples {
		c.examples[k] = v
	}
	return c
}

var (
	lineNumber = regexp.MustCompile(`^line \d+: `)
	amount     = regexp.MustCompile(`-?\d+(\.\d+)?`)
)

// reasonKind groups rejection reasons that differ only in their numbers:
// "fraud risk 0.91 >= 0.85" and "fraud risk 0.88 >= 0.85" are one kind,
// "fraud risk ≥ 0.85"; so are all unknown currencies. Other reasons keep
// their words, with numbers shown as N.
func reasonKind(reason string) string {
	switch {
	case strings.HasPrefix(reason, "fraud risk "):
		if _, threshold, ok := strings.Cut(reason, ">= "); ok {
			return "fraud risk ≥ " + threshold
		}
	case strings.HasPrefix(reason, "unknown currency"):
		return "unknown currency"
	case strings.HasPrefix(reason, "amount over limit"):
		return "amount over limit"
	case strings.HasPrefix(reason, "lines sum to"):
		return "lines do not add up to total_cents"
	}
	reason = lineNumber.ReplaceAllString(reason, "")
	return amount.ReplaceAllString(reason, "N")
}
