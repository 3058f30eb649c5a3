//go:build integration

package promexport_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/promexport"
	"github.com/sluice-dev/sluice/lag/snapshot"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationLagOnRealKafka checks on Apache Kafka what the kfake tests
// check: exact lag per partition and summed, a group without members, and
// a deleted group's series gone (real Kafka reports a deleted group as
// Dead when it is described by name).
func TestIntegrationLagOnRealKafka(t *testing.T) {
	k := kafkatest.NewKafka(t)
	k.CreateTopic(t, "orders", 3, nil)
	cl := k.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	produce(t, cl, "orders", []int{10, 20, 30})
	commit(t, adm, "validate", "orders", 4, 20, 7)
	commit(t, adm, "decide", "orders", 10, 10, 10)

	mon := monitor.New(monitor.Config{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promexport.New(mon.Latest))
	all := snapshot.NewReader(adm)
	named := snapshot.NewReader(adm, snapshot.Groups("validate", "decide"))
	for _, r := range []*snapshot.Reader{all, named} {
		if rep := mon.ReadOnce(context.Background(), r); rep.Err != "" {
			t.Fatalf("read: %s", rep.Err)
		}
		got := series(t, reg)
		for k, v := range map[string]float64{
			"kafka_consumergroup_lag{consumergroup=validate,partition=0,topic=orders}": 6,
			"kafka_consumergroup_lag{consumergroup=validate,partition=2,topic=orders}": 23,
			"kafka_consumergroup_lag_sum{consumergroup=validate,topic=orders}":         29,
			"kafka_consumergroup_lag_sum{consumergroup=decide,topic=orders}":           30,
			"kafka_consumergroup_members{consumergroup=validate}":                      0,
		} {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
			}
		}
	}
	if _, err := adm.DeleteGroup(context.Background(), "validate"); err != nil {
		t.Fatalf("delete group: %v", err)
	}
	for _, r := range []*snapshot.Reader{all, named} {
		mon.ReadOnce(context.Background(), r)
		got := series(t, reg)
		if n := count(got, "consumergroup=validate"); n != 0 {
			t.Errorf("%d series of the deleted group left behind", n)
		}
		if n := count(got, "consumergroup=decide"); n == 0 {
			t.Error("the remaining group has no series")
		}
	}
}
