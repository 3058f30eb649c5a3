package deadletter_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deadletter"
)

// sampleDLQ writes six dead-letter records to orders.dlq (two partitions),
// dead-lettered at known ages before now.
func sampleDLQ(t *testing.T, now time.Time) *cluster {
	c := newCluster(t, map[string]int32{"orders": 3, "orders.dlq": 2})
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	c.produce("orders.dlq",
		sluiceRecord(failed{partition: 0, key: "k1", class: "retryable", err: "payment timeout after 5s", at: ago(3 * time.Hour), origin: "orders", originOffset: 10}),
		sluiceRecord(failed{partition: 0, key: "k2", class: "poison", err: "decode: not Avro", at: ago(2 * time.Hour), origin: "orders", originOffset: 11}),
		sluiceRecord(failed{partition: 0, key: "k1", class: "permanent", err: "unknown currency XYZ", at: ago(30 * time.Minute), origin: "orders", originOffset: 12}),
		sluiceRecord(failed{partition: 1, key: "k3", class: "retryable", err: "Payment TIMEOUT", at: ago(26 * time.Hour), origin: "orders", originOffset: 13}),
		sluiceRecord(failed{partition: 1, key: "k4", class: "panic", err: "runtime error: index out of range", at: ago(10 * time.Minute), origin: "orders", originOffset: 14}),
		connectRecord(1, "k5", "orders", "org.apache.kafka.connect.errors.DataException", "Converting byte[] to Kafka Connect data failed", ago(time.Hour)),
	)
	return c
}

func TestReadFilters(t *testing.T) {
	now := time.Now()
	c := sampleDLQ(t, now)
	q := c.open("orders.dlq")
	at := func(s string) time.Time {
		tm, err := deadletter.ParseTime(s, now)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	offsets := func(s string) deadletter.OffsetRange {
		r, err := deadletter.ParseOffsetRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	all := []string{"orders.dlq/0/0", "orders.dlq/0/1", "orders.dlq/0/2", "orders.dlq/1/0", "orders.dlq/1/1", "orders.dlq/1/2"}
	cases := []struct {
		name   string
		filter deadletter.Filter
		want   []string
	}{
		{"no filter", deadletter.Filter{}, all},
		{"error text, any case", deadletter.Filter{ErrorContains: "timeout"}, []string{"orders.dlq/0/0", "orders.dlq/1/0"}},
		{"error class", deadletter.Filter{ErrorContains: "POISON"}, []string{"orders.dlq/0/1"}},
		{"connect exception class", deadletter.Filter{ErrorContains: "DataException"}, []string{"orders.dlq/1/2"}},
		{"key", deadletter.Filter{Key: []byte("k1")}, []string{"orders.dlq/0/0", "orders.dlq/0/2"}},
		{"empty key matches none here", deadletter.Filter{Key: []byte{}}, nil},
		{"since", deadletter.Filter{Since: at("2h30m ago")}, []string{"orders.dlq/0/1", "orders.dlq/0/2", "orders.dlq/1/1", "orders.dlq/1/2"}},
		{"until", deadletter.Filter{Until: at("2h30m")}, []string{"orders.dlq/0/0", "orders.dlq/1/0"}},
		{"since and until", deadletter.Filter{Since: at("4h ago"), Until: at("90m ago")}, []string{"orders.dlq/0/0", "orders.dlq/0/1"}},
		{"days", deadletter.Filter{Until: at("1d ago")}, []string{"orders.dlq/1/0"}},
		{"partition", deadletter.Filter{Partitions: []int32{1}}, []string{"orders.dlq/1/0", "orders.dlq/1/1", "orders.dlq/1/2"}},
		{"offset and after", deadletter.Filter{Offsets: offsets("1-")}, []string{"orders.dlq/0/1", "orders.dlq/0/2", "orders.dlq/1/1", "orders.dlq/1/2"}},
		{"one offset of one partition", deadletter.Filter{Partitions: []int32{0}, Offsets: offsets("1")}, []string{"orders.dlq/0/1"}},
		{"offset range", deadletter.Filter{Offsets: offsets("0-1"), Partitions: []int32{1}}, []string{"orders.dlq/1/0", "orders.dlq/1/1"}},
		{"filters combine", deadletter.Filter{ErrorContains: "timeout", Partitions: []int32{0}}, []string{"orders.dlq/0/0"}},
		{"nothing matches", deadletter.Filter{ErrorContains: "no such error"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []*deadletter.Record
			st, err := q.Read(c.ctx, tc.filter, func(r *deadletter.Record) error {
				got = append(got, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("matched %v, want %v", ids(got), tc.want)
			}
			if st.Matched != len(tc.want) {
				t.Errorf("stats %+v, want %d matched", st, len(tc.want))
			}
		})
	}
}

func TestReadRefusesAPartitionTheTopicLacks(t *testing.T) {
	c := sampleDLQ(t, time.Now())
	_, err := c.open("orders.dlq").Read(c.ctx, deadletter.Filter{Partitions: []int32{5}}, func(*deadletter.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "partition 5 does not exist: orders.dlq has 2 partitions (0 to 1)") {
		t.Errorf("error %v", err)
	}
}

func TestReadLimitStopsEarly(t *testing.T) {
	c := sampleDLQ(t, time.Now())
	n := 0
	st, err := c.open("orders.dlq").Read(c.ctx, deadletter.Filter{Limit: 2}, func(*deadletter.Record) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || st.Matched != 2 || !st.Limited {
		t.Errorf("got %d records, stats %+v; want 2, limited", n, st)
	}
}

func TestReadStopsAtTheEndSeenAtStart(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders.dlq": 1, "empty.dlq": 3})
	c.produce("orders.dlq", sluiceRecord(failed{key: "a", at: time.Now(), origin: "orders"}))
	q := c.open("orders.dlq")
	n := 0
	_, err := q.Read(c.ctx, deadletter.Filter{}, func(*deadletter.Record) error {
		if n == 0 {
			// Arrives after the read started: not part of it.
			c.produce("orders.dlq", sluiceRecord(failed{key: "b", at: time.Now(), origin: "orders"}))
		}
		n++
		return nil
	})
	if err != nil || n != 1 {
		t.Errorf("read %d records (err %v), want the 1 there at the start", n, err)
	}
	st, err := c.open("empty.dlq").Read(c.ctx, deadletter.Filter{}, func(*deadletter.Record) error { return nil })
	if err != nil || st.Examined != 0 {
		t.Errorf("empty topic: %+v, %v", st, err)
	}
}

func TestParseTimeAndOffsets(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2025-05-31T10:00:00Z":      time.Date(2025, 5, 31, 10, 0, 0, 0, time.UTC),
		"2025-05-31T12:00:00+02:00": time.Date(2025, 5, 31, 10, 0, 0, 0, time.UTC),
		"2025-05-31":                time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC),
		"2h":                        now.Add(-2 * time.Hour),
		"2h ago":                    now.Add(-2 * time.Hour),
		"90m ago":                   now.Add(-90 * time.Minute),
		"3d ago":                    now.Add(-72 * time.Hour),
	} {
		got, err := deadletter.ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-2h", "2025-13-01"} {
		if _, err := deadletter.ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"", "x", "5-3", "-3", "1:2"} {
		if _, err := deadletter.ParseOffsetRange(bad); err == nil {
			t.Errorf("ParseOffsetRange(%q) succeeded", bad)
		}
	}
	po, err := deadletter.ParsePartitionOffsets("0:120, 2:7")
	if err != nil || len(po) != 2 || po[0] != 120 || po[2] != 7 {
		t.Errorf("ParsePartitionOffsets = %v, %v", po, err)
	}
	for _, bad := range []string{"", "0", "0:x", "0:1,0:2", "-1:3"} {
		if _, err := deadletter.ParsePartitionOffsets(bad); err == nil {
			t.Errorf("ParsePartitionOffsets(%q) succeeded", bad)
		}
	}
}
