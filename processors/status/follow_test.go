package status

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/processors/order"
)

const topic = "order-status"

func newCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newClient(t *testing.T, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowCatchesUpThenTails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serde := newSerde(t)
	seeds := newCluster(t)
	producer := newClient(t, seeds)

	produce := func(statuses ...order.Status) {
		t.Helper()
		for _, s := range statuses {
			rec := &kgo.Record{Topic: topic, Key: s.Key(), Value: encode(t, serde, s)}
			if err := producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatalf("produce %+v: %v", s, err)
			}
		}
	}
	st := func(id string, state order.State, stage string) order.Status {
		return order.Status{OrderID: id, State: state, Stage: stage, ChangedAt: changed}
	}
	produce(
		st("o-1", order.StateValidated, "validate"),
		st("o-2", order.StateValidated, "validate"),
		st("o-3", order.StateRejected, "validate"),
		st("o-1", order.StateScored, "score"), // same key: same partition, later offset
	)
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("o-3")}).FirstErr(); err != nil {
		t.Fatalf("produce tombstone: %v", err)
	}

	v := NewView(serde)
	var readyCalls atomic.Int32
	consumer := newClient(t, seeds, ClientOpts(topic)...)
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, consumer, topic, v, func() { readyCalls.Add(1) }) }()

	eventually(t, "ready", func() bool { return readyCalls.Load() > 0 })
	// Ready means caught up: everything produced before Follow started is in.
	if got, ok := v.Get("o-1"); !ok || got.State != order.StateScored {
		t.Fatalf("o-1 at ready = %+v, %v; want the latest, SCORED", got, ok)
	}
	if _, ok := v.Get("o-2"); !ok {
		t.Fatal("o-2 missing at ready")
	}
	if _, ok := v.Get("o-3"); ok {
		t.Fatal("o-3 present at ready despite its tombstone")
	}
	if !v.Ready() {
		t.Fatal("ready was called but View.Ready is false")
	}

	produce(st("o-2", order.StateConfirmed, "decide"))
	eventually(t, "o-2 CONFIRMED after ready", func() bool {
		got, _ := v.Get("o-2")
		return got.State == order.StateConfirmed
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Follow returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after cancel")
	}
	if n := readyCalls.Load(); n != 1 {
		t.Fatalf("ready called %d times, want once", n)
	}
}

func TestFollowIsReadyAtOnceOnEmptyTopic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := NewView(newSerde(t))
	consumer := newClient(t, newCluster(t), ClientOpts(topic)...)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, consumer, topic, v, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Follow returned %v before ready", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready on an empty topic")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow: %v", err)
	}
}

func TestFollowRefusesGroupClient(t *testing.T) {
	cl := newClient(t, newCluster(t), kgo.ConsumerGroup("status"), kgo.ConsumeTopics(topic))
	err := Follow(context.Background(), cl, topic, NewView(newSerde(t)), nil)
	if !errors.Is(err, ErrGroupClient) {
		t.Fatalf("Follow with a group client: %v, want ErrGroupClient", err)
	}
}

// In exactly-once mode the stages write order-status in transactions, and a
// fenced instance's transaction is aborted. The view must not show aborted
// records, and must still see that it has caught up when a partition ends
// in a transaction marker rather than a record.
func TestFollowSkipsAbortedTransactionsAndGetsReady(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serde := newSerde(t)
	seeds := newCluster(t)
	// One key, so one partition: it ends in the abort marker.
	producer := newClient(t, seeds, kgo.TransactionalID("score-1"), kgo.DefaultProduceTopic(topic))
	inTxn := func(commit kgo.TransactionEndTry, statuses ...order.Status) {
		t.Helper()
		if err := producer.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if err := producer.ProduceSync(ctx, &kgo.Record{Key: s.Key(), Value: encode(t, serde, s)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := producer.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	rejected := ranked("o-1", order.StateRejected, "decide")
	rejected.Reason = "written by a zombie"
	inTxn(kgo.TryCommit, ranked("o-1", order.StateValidated, "validate"), ranked("o-1", order.StateScored, "score"))
	inTxn(kgo.TryAbort, rejected)

	v := NewView(serde)
	ready := make(chan struct{})
	consumer := newClient(t, seeds, ClientOpts(topic)...)
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, consumer, topic, v, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Follow returned %v before ready", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready: the partition ends in an abort marker, which must count as caught up")
	}
	if got, _ := v.Get("o-1"); got.State != order.StateScored {
		t.Fatalf("o-1 = %+v at ready, want SCORED (the aborted REJECTED must not show)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow: %v", err)
	}
}

func TestFollowRefusesClientWithoutClientOpts(t *testing.T) {
	cl := newClient(t, newCluster(t), kgo.ConsumeTopics(topic))
	if err := Follow(context.Background(), cl, topic, NewView(newSerde(t)), nil); err == nil || !strings.Contains(err.Error(), "status.ClientOpts") {
		t.Fatalf("Follow with a plain consumer: %v, want an error pointing at status.ClientOpts", err)
	}
}
