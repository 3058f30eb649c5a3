package monitor

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/lag/snapshot"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func snap(at time.Duration, ends map[string]map[int32]int64, groups ...snapshot.Group) snapshot.Snapshot {
	s := snapshot.Snapshot{Time: t0.Add(at), Ends: ends, Groups: map[string]snapshot.Group{}}
	for _, g := range groups {
		s.Groups[g.Name] = g
	}
	return s
}

func TestLagIsNeverNegativeAndSaysWhy(t *testing.T) {
	m := New(Config{})
	r := m.Observe(snap(0, map[string]map[int32]int64{"orders": {0: 100}},
		snapshot.Group{Name: "g", State: "Empty", Committed: map[string]map[int32]int64{"orders": {0: 105}}}))
	p := r.Groups[0].Topics[0].Partitions[0]
	if p.Lag != 0 || r.Groups[0].Lag != 0 {
		t.Errorf("lag %d (group %d), want 0", p.Lag, r.Groups[0].Lag)
	}
	if !strings.Contains(p.Note, "past the end offset") {
		t.Errorf("note %q does not explain the clamp", p.Note)
	}
	if !p.Seconds.Known || p.Seconds.Seconds != 0 {
		t.Errorf("seconds %+v, want known 0", p.Seconds)
	}
}

func TestRatesSecondsRetryAndDLQ(t *testing.T) {
	m := New(Config{RateWindow: 10 * time.Second})
	var r Report
	// orders grows 100/s; the group commits 80/s, starting 200 behind.
	// orders.retry.5s gets 2/s, orders.dlq 1/s.
	for i := range 13 {
		s := int64(i * 5)
		r = m.Observe(snap(time.Duration(s)*time.Second, map[string]map[int32]int64{
			"orders":          {0: 1000 + 100*s},
			"orders.retry.5s": {0: 2 * s},
			"orders.dlq":      {0: s},
		}, snapshot.Group{
			Name: "validate", State: "Stable",
			Members:   []snapshot.Member{{ID: "m1", ClientID: "validate-1", Host: "/10.0.0.1", Assigned: map[string][]int32{"orders": {0}}}},
			Committed: map[string]map[int32]int64{"orders": {0: 800 + 80*s}},
		}))
	}
	g := r.Groups[0]
	var gt GroupTopic
	for _, t := range g.Topics {
		if t.Topic == "orders" {
			gt = t
		}
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 0.05*want {
			t.Errorf("%s = %.2f, want %.2f", name, got, want)
		}
	}
	near("produce rate", gt.ProduceRate, 100)
	near("consume rate", gt.ConsumeRate, 80)
	near("retry rate", gt.RetryRate, 2)
	near("dlq rate", gt.DLQRate, 1)
	if gt.Retried != 120 || gt.DeadLettered != 60 {
		t.Errorf("retried %d, dead-lettered %d, want 120 and 60", gt.Retried, gt.DeadLettered)
	}
	// At 60s: end 7000, committed 5600: offset 5600 was reached at
	// (5600-1000)/100 = 46s, so 14s behind.
	p := gt.Partitions[0]
	if !p.Seconds.Known {
		t.Fatalf("seconds unknown: %s", p.Seconds.Reason)
	}
	near("lag seconds", p.Seconds.Seconds, 14)
	if p.Owner != "validate-1" || g.Members[0].Partitions != 1 {
		t.Errorf("owner %q, member partitions %d", p.Owner, g.Members[0].Partitions)
	}
}

func TestGoneTopicsPartitionsAndGroupsAreForgotten(t *testing.T) {
	m := New(Config{})
	m.Observe(snap(0, map[string]map[int32]int64{"a": {0: 5, 1: 5}, "b": {0: 1}},
		snapshot.Group{Name: "g", Committed: map[string]map[int32]int64{"a": {0: 1, 1: 1}, "b": {0: 0}}},
		snapshot.Group{Name: "h", Committed: map[string]map[int32]int64{"a": {0: 1}}}))
	r := m.Observe(snap(time.Second, map[string]map[int32]int64{"a": {0: 5}},
		snapshot.Group{Name: "g", Committed: map[string]map[int32]int64{"a": {0: 1, 1: 1}, "b": {0: 0}}}))
	if len(r.Groups) != 1 || len(r.Groups[0].Topics) != 1 || len(r.Groups[0].Topics[0].Partitions) != 1 {
		t.Errorf("want group g with only a/0 left, got %+v", r.Groups)
	}
	if len(m.ends) != 1 || len(m.points) != 1 || len(m.points["g"]) != 1 {
		t.Errorf("history kept for gone things: %d end histories, %d groups, %d partitions of g", len(m.ends), len(m.points), len(m.points["g"]))
	}
}
