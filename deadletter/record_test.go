package deadletter_test

import (
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
	if got, want := strings.Join(keys, " "), "traceparent=trace-o-1 sluice.replayed.from=orders.dlq/1/9"; got != want {
		t.Errorf("headers %q, want %q", got, want)
	}
}
