package outputs

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/records"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// An input of 12 records over 3 keys in one partition, offsets = sequence
// numbers; the output topic gets what out lists, in that order.
func check(t *testing.T, committed int64, out []int64, corrupt map[int64]bool) Check {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const k = 2
	for _, seq := range out {
		v := work.Apply(records.Value(seq), k, 0)
		if corrupt[seq] {
			v[20] ^= 1
		}
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "out", Key: records.Key(seq, 3), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	in := &workload.Input{Workload: workload.Workload{Name: "T", Partitions: 1, Keys: 3, Records: 12}, Topic: "in",
		Ends: map[int32]int64{0: 12}, Where: make([]workload.Pos, 12)}
	for seq := range int64(12) {
		in.Where[seq] = workload.Pos{Partition: 0, Offset: seq}
	}
	got, err := Read(context.Background(), c.ListenAddrs(), "out", in, map[int32]int64{0: committed}, k)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEveryInputOnceInOrderChecksClean(t *testing.T) {
	got := check(t, 12, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, nil)
	if got.Outputs != 12 || got.Distinct != 12 || got.Duplicates+got.Missing+got.Pending+got.ReorderedKeys+got.Unexpected+got.BadValues != 0 {
		t.Fatalf("clean output: %+v", got)
	}
}

func TestCheckCountsWhatWentWrong(t *testing.T) {
	// 3 is duplicated; key k1's 7 comes out before its 4 (reordered); 10 is
	// missing below the commit; 11 is past the commit (pending); 0's value
	// (sampled: 0 % 1009 == 0) is corrupted.
	got := check(t, 11, []int64{0, 1, 2, 3, 3, 5, 6, 7, 4, 8, 9}, map[int64]bool{0: true})
	want := Check{Outputs: 11, Distinct: 10, Duplicates: 1, Missing: 1, Pending: 1, ReorderedKeys: 1, BadValues: 1}
	got.Report = ""
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
