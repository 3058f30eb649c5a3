package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// The retry and dead-letter topics a processor creates at start exist
// before it joins its group, so its first assignment already has them: one
// rebalance at start, not one more per created topic (each held the
// input's records back).
func TestCreatedTopicsAreInTheFirstAssignment(t *testing.T) {
	brokers := fakeKafka(t, 3, "in", "out")
	produceKeyed(t, brokers, "in", 50, 10)
	var logs lockedBuffer
	p, err := pipeline.New("first-join", passthrough("out"), pipeline.Topics("in"),
		pipeline.RetryDelays(time.Second, 5*time.Second),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)),
		pipeline.Logger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	if got := drainValues(t, brokers, "out", 50, 20*time.Second); len(got) != 50 {
		t.Fatalf("%d of 50 records came out", len(got))
	}
	time.Sleep(500 * time.Millisecond) // a late metadata refresh would rebalance by now
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var assigned []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `msg="partitions assigned"`) {
			assigned = append(assigned, line)
		}
	}
	if len(assigned) != 1 || !strings.Contains(assigned[0], "in.retry.1s") || !strings.Contains(assigned[0], "in.retry.5s") {
		t.Errorf("want one assignment with the input and both retry tiers, got %d:\n%s", len(assigned), strings.Join(assigned, "\n"))
	}
}

// At debug level every routing decision is logged: which record, why, and
// where it went (operators follow a poison record with --log-level debug).
func TestRoutingDecisionsLoggedAtDebug(t *testing.T) {
	brokers := fakeKafka(t, 1, "in", "out")
	produceKeyed(t, brokers, "in", 1, 1)
	var logs lockedBuffer
	fail := func(context.Context, *pipeline.Record) ([]pipeline.Output, error) {
		return nil, pipeline.MarkPermanent(errors.New("bad record"))
	}
	p, err := pipeline.New("routing-log", fail, pipeline.Topics("in"), pipeline.RetryDelays(time.Second),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)),
		pipeline.Logger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	waitUntil(t, 20*time.Second, "the routing line", func() bool { return strings.Contains(logs.String(), "routed a failed record") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"offset=0", "class=permanent", "to=in.dlq", "dead_lettered=true", "bad record"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("routing line lacks %q:\n%s", w, logs.String())
		}
	}
}
