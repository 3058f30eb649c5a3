package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

func fakeWithGroup(t *testing.T) *kafkatest.Fake {
	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 2, nil)
	cl := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: int32(i % 2), Value: []byte("x")})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 10, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: "orders", Partition: 1, At: 15, LeaderEpoch: -1})
	if err := kadm.NewClient(cl).CommitAllOffsets(context.Background(), "validate", offs); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLagPrintsDescribeTableWithSecondsAndStatus(t *testing.T) {
	c := fakeWithGroup(t)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"lag", "--brokers", strings.Join(c.Brokers(), ","), "--samples", "2", "--interval", "20ms"}, &out, &errb)
	if err != nil {
		t.Fatalf("lag: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"CURRENT-OFFSET", "LOG-END-OFFSET", "SECONDS-BEHIND", "STATUS",
		"validate  orders  0          10              15              5", "validate: WARN, no active members (Empty), lag 5 records", "no members, 5 records behind, not growing over"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLagFromOneSampleSaysWhatItCan is the one-shot `lagmon lag` an
// operator runs on a stopped group: one sample cannot show growth or a
// stall, but no members with lag > 0 is never OK.
func TestLagFromOneSampleSaysWhatItCan(t *testing.T) {
	c := fakeWithGroup(t)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"lag", "--brokers", strings.Join(c.Brokers(), ","), "--samples", "1"}, &out, &errb)
	if err != nil {
		t.Fatalf("lag: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"validate: WARN, no active members (Empty), lag 5 records",
		"no members, 5 records behind (one sample: whether it grows is not known yet)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLagWatchRedrawsUntilInterrupted(t *testing.T) {
	c := fakeWithGroup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"lag", "--watch", "--brokers", strings.Join(c.Brokers(), ","), "--samples", "1", "--interval", "50ms"}, &out, &errb); err != nil {
		t.Fatalf("lag --watch: %v\n%s", err, errb.String())
	}
	if n := strings.Count(out.String(), "\033[H\033[2J"); n < 3 {
		t.Errorf("redrawn %d times in 500ms at a 50ms interval, want several", n)
	}
}
