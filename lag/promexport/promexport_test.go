package promexport_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/promexport"
	"github.com/sluice-dev/sluice/lag/snapshot"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// produce writes n records to each partition, n[p] for partition p.
func produce(t *testing.T, cl *kgo.Client, topic string, n []int) {
	t.Helper()
	var recs []*kgo.Record
	for p, k := range n {
		for range k {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("x")})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// series returns every series of the registry as "name{l=v,...}" -> value.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

func setup(t *testing.T) (*kafkatest.Fake, *kgo.Client, *kadm.Client, *monitor.Monitor, *snapshot.Reader, *prometheus.Registry) {
	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 3, nil)
	cl := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	mon := monitor.New(monitor.Config{})
	reader := snapshot.NewReader(adm)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promexport.New(mon.Latest))
	return c, cl, adm, mon, reader, reg
}

func commit(t *testing.T, adm *kadm.Client, group, topic string, at ...int64) {
	t.Helper()
	var os kadm.Offsets
	for p, o := range at {
		os.Add(kadm.Offset{Topic: topic, Partition: int32(p), At: o, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(context.Background(), group, os); err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

func TestLagPerPartitionAndSumIsExactForKnownOffsets(t *testing.T) {
	_, cl, adm, mon, reader, reg := setup(t)
	produce(t, cl, "orders", []int{10, 20, 30})
	commit(t, adm, "validate", "orders", 4, 20, 7)
	mon.ReadOnce(context.Background(), reader)
	got := series(t, reg)

	want := map[string]float64{
		"kafka_consumergroup_lag{consumergroup=validate,partition=0,topic=orders}":            6,
		"kafka_consumergroup_lag{consumergroup=validate,partition=1,topic=orders}":            0,
		"kafka_consumergroup_lag{consumergroup=validate,partition=2,topic=orders}":            23,
		"kafka_consumergroup_lag_sum{consumergroup=validate,topic=orders}":                    29,
		"kafka_consumergroup_current_offset{consumergroup=validate,partition=0,topic=orders}": 4,
		"kafka_consumergroup_current_offset{consumergroup=validate,partition=2,topic=orders}": 7,
		"kafka_consumergroup_current_offset_sum{consumergroup=validate,topic=orders}":         31,
		"kafka_topic_partition_current_offset{partition=0,topic=orders}":                      10,
		"kafka_topic_partition_current_offset{partition=1,topic=orders}":                      20,
		"kafka_topic_partition_current_offset{partition=2,topic=orders}":                      30,
		"kafka_topic_partitions{topic=orders}":                                                3,
		// A group with no members still reports.
		"kafka_consumergroup_members{consumergroup=validate}": 0,
		// Behind with nobody consuming: WARN from the first sample.
		"sluice_lagmon_group_status{consumergroup=validate,status=WARN}": 1,
		"sluice_lagmon_up{}": 1,
		// Caught up: 0 seconds, known even with one sample.
		"kafka_consumergroup_lag_seconds{consumergroup=validate,partition=1,topic=orders}": 0,
		// Behind with a single sample: unknown, not a number.
		"sluice_lagmon_lag_seconds_unknown{consumergroup=validate,partition=0,topic=orders}": 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("missing %s", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	if _, ok := got["kafka_consumergroup_lag_seconds{consumergroup=validate,partition=0,topic=orders}"]; ok {
		t.Error("lag seconds exported for a partition whose estimate is unknown")
	}
}

func TestGroupWithActiveMemberReportsMembersAndLag(t *testing.T) {
	c, cl, _, mon, reader, reg := setup(t)
	produce(t, cl, "orders", []int{5, 5, 5})
	cons := c.Client(t, kgo.ConsumerGroup("score"), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := 0
	for seen < 15 && ctx.Err() == nil {
		seen += cons.PollFetches(ctx).NumRecords()
	}
	var commitErr error
	cons.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{
		"orders": {0: {Epoch: -1, Offset: 5}, 1: {Epoch: -1, Offset: 2}, 2: {Epoch: -1, Offset: 0}},
	}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
	})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}
	mon.ReadOnce(ctx, reader)
	got := series(t, reg)
	for k, v := range map[string]float64{
		"kafka_consumergroup_members{consumergroup=score}":                      1,
		"kafka_consumergroup_lag_sum{consumergroup=score,topic=orders}":         8,
		"kafka_consumergroup_lag{consumergroup=score,partition=2,topic=orders}": 5,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	rep := mon.Latest()
	if len(rep.Groups) != 1 || len(rep.Groups[0].Members) != 1 || rep.Groups[0].Members[0].Partitions != 3 {
		t.Errorf("want one group with one member owning 3 partitions, got %+v", rep.Groups)
	}
}

func TestDeletedGroupsSeriesDisappear(t *testing.T) {
	_, cl, adm, mon, reader, reg := setup(t)
	produce(t, cl, "orders", []int{3, 3, 3})
	commit(t, adm, "validate", "orders", 1, 1, 1)
	commit(t, adm, "decide", "orders", 2, 2, 2)
	mon.ReadOnce(context.Background(), reader)
	if n := count(series(t, reg), "consumergroup=validate"); n == 0 {
		t.Fatal("no series for group validate before deletion")
	}
	if _, err := adm.DeleteGroup(context.Background(), "validate"); err != nil {
		t.Fatalf("delete group: %v", err)
	}
	mon.ReadOnce(context.Background(), reader)
	got := series(t, reg)
	if n := count(got, "consumergroup=validate"); n != 0 {
		t.Errorf("%d series of the deleted group left behind", n)
	}
	if n := count(got, "consumergroup=decide"); n == 0 {
		t.Error("the other group's series went away too")
	}
}

func TestWatchingNamedGroupThatWasDeletedDropsIt(t *testing.T) {
	_, cl, adm, _, _, _ := setup(t)
	produce(t, cl, "orders", []int{3, 3, 3})
	commit(t, adm, "validate", "orders", 1, 1, 1)
	mon := monitor.New(monitor.Config{})
	reader := snapshot.NewReader(adm, snapshot.Groups("validate"))
	if r := mon.ReadOnce(context.Background(), reader); len(r.Groups) != 1 {
		t.Fatalf("want the named group, got %+v (err %s)", r.Groups, r.Err)
	}
	if _, err := adm.DeleteGroup(context.Background(), "validate"); err != nil {
		t.Fatal(err)
	}
	if r := mon.ReadOnce(context.Background(), reader); len(r.Groups) != 0 {
		t.Errorf("deleted named group still reported: %+v", r.Groups)
	}
}

func count(s map[string]float64, label string) int {
	n := 0
	for k := range s {
		if strings.Contains(k, label) {
			n++
		}
	}
	return n
}

func ExampleNew() {
	mon := monitor.New(monitor.Config{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.New(mon.Latest))
	fmt.Println("registered")
	// Output: registered
}
