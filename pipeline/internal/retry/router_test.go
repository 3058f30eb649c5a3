package retry

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

func hdr(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }

// TestAttemptsCarryAcrossReplays: a replayed record that fails again
// reaches the dead-letter topic with its attempts counted on from the
// replayed record's, and with the replay headers kept, so a second replay
// can tell it came back. The retry tiers still count from the replay.
func TestAttemptsCarryAcrossReplays(t *testing.T) {
	routes := NewRoutes([]string{"orders"}, []time.Duration{time.Second, time.Minute}, "")
	r := NewRouter(routes, "score", true, false)
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	in := &kgo.Record{Topic: "orders", Partition: 2, Offset: 40, Key: []byte("o-1"), Value: []byte("v"), Timestamp: now,
		Headers: []kgo.RecordHeader{hdr("traceparent", "t"), hdr(failure.HeaderReplayed, "orders.dlq/0/7"),
			hdr(failure.HeaderReplays, "1"), hdr(failure.HeaderReplayAttempts, "3")}}
	var produced []*kgo.Record
	produce := func(kr *kgo.Record) { produced = append(produced, kr) }

	a := FromInput(in)
	if tier := r.Failed(&a, errors.New("db down"), "retryable", true, now, produce); tier != 0 {
		t.Fatalf("first failure after a replay went to tier %d, want 0: tiers count from the replay", tier)
	}
	f, _ := failure.Decode(produced[0].Headers)
	if f.Attempts != 4 || f.Replays != 1 || f.ReplayedFrom != "orders.dlq/0/7" || f.ReplayAttempts != 3 {
		t.Fatalf("retry record: attempts %d replays %d from %q replay attempts %d; want 4, 1, orders.dlq/0/7, 3", f.Attempts, f.Replays, f.ReplayedFrom, f.ReplayAttempts)
	}

	// Read back from the tier, it fails for good.
	produced[0].Topic = routes.tiers["orders"][0]
	b := FromTier(produced[0], Tier{"orders", 0})
	if b.Attempts != 1 || b.Origin.Offset != 40 || b.Origin.Topic != "orders" {
		t.Fatalf("from tier: attempts %d origin %v; want 1 attempt of this pass at orders/2/40", b.Attempts, b.Origin)
	}
	if tier := r.Failed(&b, errors.New("bad order"), "permanent", false, now, produce); tier != -1 {
		t.Fatalf("permanent failure went to tier %d, want the dead-letter topic", tier)
	}
	dl := produced[1]
	if dl.Topic != "orders.dlq" {
		t.Fatalf("dead-lettered to %s", dl.Topic)
	}
	f, _ = failure.Decode(dl.Headers)
	if f.Attempts != 5 || f.Replays != 1 || f.Class != "permanent" {
		t.Errorf("dead-letter record: attempts %d replays %d class %q; want 5 (3 before the replay, 2 since), 1, permanent", f.Attempts, f.Replays, f.Class)
	}
	counts := map[string]int{}
	for _, h := range dl.Headers {
		counts[h.Key]++
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("header %s appears %d times", k, n)
		}
	}
	if counts["traceparent"] != 1 {
		t.Error("the record's own header was lost")
	}
	if r.Keys() != 0 {
		t.Errorf("%d keys left in the retry path after the record was dead-lettered", r.Keys())
	}
}

// TestLaterRecordsOfAKeyParkBehindOneInTheRetryPath: while a record of a
// key waits in a tier, a later record of that key is sent to the same tier
// (parked) instead of running ahead of it, and may run once the first one
// succeeded.
func TestLaterRecordsOfAKeyParkBehindOneInTheRetryPath(t *testing.T) {
	routes := NewRoutes([]string{"orders"}, []time.Duration{time.Second}, "")
	r := NewRouter(routes, "score", true, false)
	now := time.Now()
	var produced []*kgo.Record
	produce := func(kr *kgo.Record) { produced = append(produced, kr) }
	first := FromInput(&kgo.Record{Topic: "orders", Offset: 1, Key: []byte("k")})
	second := FromInput(&kgo.Record{Topic: "orders", Offset: 2, Key: []byte("k")})
	other := FromInput(&kgo.Record{Topic: "orders", Offset: 3, Key: []byte("x")})
	if r.Park(&first, now, produce) {
		t.Fatal("nothing in the path, yet the first record was parked")
	}
	r.Failed(&first, errors.New("later"), "retryable", true, now, produce)
	if !r.Park(&second, now, produce) {
		t.Fatal("a later record of the key ran ahead of the one in the retry path")
	}
	if r.Park(&other, now, produce) {
		t.Fatal("a record of another key was parked")
	}
	f, _ := failure.Decode(produced[1].Headers)
	if produced[1].Topic != "orders.retry.1s" || !f.Parked {
		t.Fatalf("parked record went to %s (parked=%v), want orders.retry.1s, parked", produced[1].Topic, f.Parked)
	}
	// The first comes back from the tier first and succeeds.
	back := FromTier(produced[0], Tier{"orders", 0})
	if r.Park(&back, now, produce) {
		t.Fatal("the head of the path was parked behind itself")
	}
	r.Succeeded(&back)
	parked := FromTier(produced[1], Tier{"orders", 0})
	if r.Park(&parked, now, produce) {
		t.Fatal("the parked record was parked again after the one before it succeeded")
	}
	r.Succeeded(&parked)
	if r.Keys() != 0 {
		t.Errorf("%d keys left in the path", r.Keys())
	}
}
