package deadletter_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
)

func purgeDLQ(t *testing.T) *cluster {
	c := newCluster(t, map[string]int32{"orders.dlq": 2})
	var recs []*kgo.Record
	for i := range 8 {
		recs = append(recs, sluiceRecord(failed{partition: int32(i % 2), key: "k", at: time.Now(), origin: "orders"}))
	}
	c.produce("orders.dlq", recs...) // offsets 0-3 in each partition
	return c
}

func TestPurgeDeletesUpToTheOffset(t *testing.T) {
	c := purgeDLQ(t)
	q := c.open("orders.dlq")
	got, err := q.Purge(c.ctx, map[int32]int64{0: 3, 1: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []deadletter.Purged{{Partition: 0, From: 0, To: 3}}) {
		t.Errorf("purged %+v, want partition 0 offsets 0-2 only", got)
	}
	want := []string{"orders.dlq/0/3", "orders.dlq/1/0", "orders.dlq/1/1", "orders.dlq/1/2", "orders.dlq/1/3"}
	if left := ids(c.records("orders.dlq")); !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	all := map[int32]int64{}
	offs, err := q.Offsets(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, po := range offs {
		all[po.Partition] = po.End
	}
	if _, err := q.Purge(c.ctx, all); err != nil {
		t.Fatal(err)
	}
	if left := c.records("orders.dlq"); len(left) != 0 {
		t.Errorf("purging to the end left %v", ids(left))
	}
}

func TestPurgeChecksEveryOffsetBeforeDeleting(t *testing.T) {
	c := purgeDLQ(t)
	q := c.open("orders.dlq")
	for _, tc := range []struct {
		before map[int32]int64
		want   string
	}{
		{map[int32]int64{0: 2, 1: 99}, "partition 1: offset 99 is past its end (4)"},
		{map[int32]int64{0: 2, 7: 1}, "partition 7 does not exist (orders.dlq has 2 partitions)"},
	} {
		_, err := q.Purge(c.ctx, tc.before)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing deleted") {
			t.Errorf("Purge(%v) error %v, want %q", tc.before, err, tc.want)
		}
	}
	if n := len(c.records("orders.dlq")); n != 8 {
		t.Errorf("%d records left, want all 8", n)
	}
}
