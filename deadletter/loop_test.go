package deadletter_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/pipeline"
)

// TestReplayLoopThroughAProcessor runs the loop the guard is for with a
// real processor on the embedded broker: records that always fail are
// dead-lettered, replayed, fail again and come back. The records that
// came back carry the replay headers and their attempts in all (the
// runtime's side: it counts on from sluice.replay.attempts and keeps the
// replay headers through failures), and a second replay leaves them out.
func TestReplayLoopThroughAProcessor(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1, "orders.dlq": 1})
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i)), Value: []byte("always bad")})
	}
	c.produce("orders", recs...)
	h := func(context.Context, *pipeline.Record) ([]pipeline.Output, error) {
		return nil, errors.New("rejected: bad forever")
	}
	p, err := pipeline.New("loop", h, pipeline.Topics("orders"), pipeline.RetryDelays(), pipeline.CommitInterval(50*time.Millisecond),
		pipeline.ClientOptions(c.conn...), pipeline.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	})

	dlq := awaitRecords(t, c, "orders.dlq", 3)
	for _, r := range dlq {
		if r.Attempts != 1 || r.Refailed() {
			t.Fatalf("first dead letter %s: attempts %d, refailed %v; want 1, false", r.ID(), r.Attempts, r.Refailed())
		}
	}
	if st := replay(t, c); st.Replayed != 3 {
		t.Fatalf("first replay sent %d, want 3", st.Replayed)
	}
	dlq = awaitRecords(t, c, "orders.dlq", 6)
	for _, r := range dlq[3:] {
		if !r.Refailed() || r.Replays != 1 || r.ReplayAttempts != 1 || r.Attempts != 2 {
			t.Errorf("dead letter of a replay %s: refailed %v, replays %d, replay attempts %d, attempts %d; want true, 1, 1, 2 (1 before the replay + 1 since)",
				r.ID(), r.Refailed(), r.Replays, r.ReplayAttempts, r.Attempts)
		}
	}
	if st := replay(t, c); st.Replayed != 0 || st.Refailed != 3 {
		t.Errorf("second replay %+v, want nothing sent and 3 refailed left out", st)
	}
}

// awaitRecords polls topic until it holds n records (up to 30s).
func awaitRecords(t *testing.T, c *cluster, topic string, n int) []*deadletter.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs := c.records(topic)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d records after 30s, want %d", topic, len(recs), n)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}
