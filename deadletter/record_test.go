package deadletter_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
)

func TestParseUnderstandsSluiceHeaders(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123, time.UTC)
	kr := sluiceRecord(failed{key: "o-1", class: "retryable", err: "payment timeout", at: at, origin: "orders", originOffset: 42})
	kr.Topic, kr.Offset = "orders.dlq", 7
	r := deadletter.Parse(kr)
	if r.Format != deadletter.FormatSluice || r.Attempts != 3 || r.ErrorClass != "retryable" || r.Error != "payment timeout" {
		t.Errorf("parsed %+v", r)
	}
	if !r.LastFailure.Equal(at) || !r.DeadLetteredAt().Equal(at) || !r.FirstFailure.Equal(at.Add(-time.Minute)) {
		t.Errorf("failure times %v, %v; want %v", r.FirstFailure, r.LastFailure, at)
	}
	if got := r.Origin.String(); got != "orders/1/42" || r.Processor != "validate" {
		t.Errorf("origin %q, processor %q", got, r.Processor)
	}
	if r.ID() != "orders.dlq/0/7" {
		t.Errorf("ID = %q", r.ID())
	}
}

func TestParseUnderstandsConnectHeaders(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	kr := connectRecord(0, "o-2", "payments", "org.apache.kafka.connect.errors.DataException", "Converting byte[] failed", at)
	kr.Topic = "payments.dlq"
	r := deadletter.Parse(kr)
	if r.Format != deadletter.FormatConnect {
		t.Fatalf("format %q, want connect", r.Format)
	}
	if r.Origin.Topic != "payments" || r.Origin.Partition != 2 || r.Origin.Offset != 77 {
		t.Errorf("origin %+v", r.Origin)
	}
	if r.ErrorClass != "org.apache.kafka.connect.errors.DataException" || r.Error != "Converting byte[] failed" || r.Processor != "orders-sink" {
		t.Errorf("class %q, error %q, processor %q", r.ErrorClass, r.Error, r.Processor)
	}
	if !r.DeadLetteredAt().Equal(at) {
		t.Errorf("dead-lettered at %v, want the record timestamp %v", r.DeadLetteredAt(), at)
	}
	out := r.ReplayRecord("payments")
	for _, h := range out.Headers {
		if strings.HasPrefix(h.Key, "__connect.errors.") {
			t.Errorf("replay keeps Connect header %s", h.Key)
		}
	}
}

func TestParseLeavesUnknownFieldsZero(t *testing.T) {
	r := deadletter.Parse(&kgo.Record{Topic: "x.dlq", Value: []byte("v"), Headers: []kgo.RecordHeader{
		{Key: failure.HeaderAttempts, Value: []byte("many")},
		{Key: failure.HeaderOriginPartition, Value: []byte("?")},
	}})
	if r.Format != deadletter.FormatSluice || r.Attempts != 0 || r.Origin.Partition != -1 || r.Origin.Offset != -1 || r.Origin.String() != "" {
		t.Errorf("parsed %+v", r)
	}
	if none := deadletter.Parse(&kgo.Record{Topic: "x"}); none.Format != deadletter.FormatNone {
		t.Errorf("a record without error headers has format %q", none.Format)
	}
}

func TestReplayRecordKeepsTheOriginalAndDropsErrorHeaders(t *testing.T) {
	kr := sluiceRecord(failed{key: "o-1", class: "poison", err: "bad", at: time.Now(), origin: "orders"})
	kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: failure.HeaderReplayed, Value: []byte("orders.dlq/0/1")})
	kr.Topic, kr.Partition, kr.Offset = "orders.dlq", 1, 9
	out := deadletter.Parse(kr).ReplayRecord("orders")
	if out.Topic != "orders" || string(out.Key) != "o-1" || string(out.Value) != "value of o-1" {
		t.Errorf("replay record %s %q %q", out.Topic, out.Key, out.Value)
	}
	var keys []string
	for _, h := range out.Headers {
		keys = append(keys, h.Key+"="+string(h.Value))
	}
	// The record was replayed before (sluice.replayed.from, from before
	// sluice.replays existed) and failed 3 times: this is replay 2.
	if got, want := strings.Join(keys, " "), "traceparent=trace-o-1 sluice.replayed.from=orders.dlq/1/9 sluice.replays=2 sluice.replay.attempts=3"; got != want {
		t.Errorf("headers %q, want %q", got, want)
	}
}

// TestReplayRecordCarriesReplaysAndAttemptsOn replays a record that has
// been round the loop twice: the replay count goes up by one, the attempts
// so far (cumulative, as the runtime writes them) ride along for the
// runtime to count on from, and no replay header appears twice.
func TestReplayRecordCarriesReplaysAndAttemptsOn(t *testing.T) {
	kr := sluiceRecord(failed{key: "o-1", class: "permanent", err: "still bad", at: time.Now(), origin: "orders"})
	kr.Headers = append(kr.Headers,
		kgo.RecordHeader{Key: failure.HeaderReplayed, Value: []byte("orders.dlq/0/4")},
		kgo.RecordHeader{Key: failure.HeaderReplays, Value: []byte("2")},
		kgo.RecordHeader{Key: failure.HeaderReplayAttempts, Value: []byte("5")},
	)
	for i, h := range kr.Headers {
		if h.Key == failure.HeaderAttempts {
			kr.Headers[i].Value = []byte("8") // 5 before the last replay, 3 since
		}
	}
	kr.Topic, kr.Partition, kr.Offset = "orders.dlq", 0, 17
	rec := deadletter.Parse(kr)
	if !rec.Refailed() || rec.Replays != 2 || rec.ReplayAttempts != 5 || rec.Attempts != 8 {
		t.Fatalf("parsed refailed=%v replays=%d replay attempts=%d attempts=%d", rec.Refailed(), rec.Replays, rec.ReplayAttempts, rec.Attempts)
	}
	out := rec.ReplayRecord("orders")
	got := map[string][]string{}
	for _, h := range out.Headers {
		got[h.Key] = append(got[h.Key], string(h.Value))
	}
	want := map[string][]string{
		"traceparent":                {"trace-o-1"},
		failure.HeaderReplayed:       {"orders.dlq/0/17"},
		failure.HeaderReplays:        {"3"},
		failure.HeaderReplayAttempts: {"8"},
	}
	if len(got) != len(want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	f, _ := failure.Decode(out.Headers)
	if f.Replays != 3 || f.ReplayAttempts != 8 || f.ReplayedFrom != "orders.dlq/0/17" {
		t.Errorf("the runtime would read replays=%d replay attempts=%d from %q", f.Replays, f.ReplayAttempts, f.ReplayedFrom)
	}
	if first := deadletter.Parse(&kgo.Record{Topic: "orders.dlq", Headers: sluiceRecord(failed{key: "o-2", origin: "orders"}).Headers}); first.Refailed() {
		t.Error("a record never replayed counts as refailed")
	}
}
